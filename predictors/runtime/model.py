"""A saved model run by onnxruntime, for a scheduler: numpy, onnxruntime and the standard
library only (no polars, pyarrow, duckdb or scikit-learn is imported).

    from predictors.runtime import load
    model = load("models/ol")
    model.predict_one({"input_tokens": 812.0, "service": "conversation", ...})
    # {"p10": 61.0, "p50": 212.0, "p90": 590.0}, in model.units
    session = model.session()      # features from a request stream: see session.py
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from predictors.runtime.card import (
    CARD,
    DEFINING,
    DIGEST_KEY,
    MISSING,
    ONNX,
    Feature,
    card_digest,
    read_card,
    read_onnx,
    retrain_command,
)
from predictors.runtime.errors import (
    FeatureError,
    ModelCardError,
    ModelFileMismatch,
    PredictorUsageError,
)
from predictors.runtime.session import FLOAT32_MAX

# One thread and sequential execution: a scheduler asks for one row at a time, and thread
# hand-offs cost more than the trees (measured: one-row run p50 48 -> 39 µs).
INTRA_OP_THREADS = 1


def ort_session(graph: bytes, threads: int) -> Any:
    """An InferenceSession as a scheduler runs one: sequential, `threads` intra-op threads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(graph, sess_options=opts, providers=["CPUExecutionProvider"])


class Model:
    """model.onnx of MODEL_DIR, checked against its card (model.json) before it runs.

    `predict_one(features)` takes one row of the card's features and returns the outputs by
    name; `predict(rows)` takes columns or a list of rows and returns an array (N,) for one
    output or (N, K) in `output_names` order; `session()` computes the features from requests.
    """

    def __init__(self, model_dir: Path | str, threads: int = INTRA_OP_THREADS) -> None:
        self.model_dir = Path(model_dir)
        self.card: dict[str, Any] = read_card(self.model_dir)
        self.kind: str = self.card["kind"]
        self.features = [Feature(**f) for f in self.card["features"]]
        self.output_names: list[str] = [o["name"] for o in self.card["outputs"]]
        self.units: dict[str, str] = {o["name"]: o["unit"] for o in self.card["outputs"]}
        # The bytes that are hashed are the bytes that are run: no window to swap the file.
        graph = read_onnx(self.model_dir, self.card)
        try:
            self._session = ort_session(graph, threads)
        except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelFileMismatch(
                f"{self.model_dir / ONNX} matches its card but onnxruntime cannot load it "
                f"({str(e).splitlines()[0] if str(e) else type(e).__name__}). Train the model "
                f"again: {retrain_command(self.card, self.model_dir)}."
            ) from e
        _check_digest(self._session, self.card, self.model_dir)
        # One preallocated [1, 1] input per feature: a one-row call writes into them instead
        # of building ten arrays.
        self._one: dict[str, np.ndarray] = {
            f.name: np.empty((1, 1), dtype=object if f.dtype == "string" else np.float32)
            for f in self.features
        }

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def session_runtime(self) -> Any:
        """The onnxruntime InferenceSession (for callers that build their own feeds)."""
        return self._session

    def run(self, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
        """The graph on `[N, 1]` feeds named as the features: (N, K) in output order. An
        output that is not finite (inputs far outside what the model saw) is refused."""
        res = self._session.run(self.output_names, dict(feeds))
        out = np.column_stack([np.asarray(r).reshape(-1) for r in res])
        if not np.isfinite(out).all():
            row, col = (int(i[0]) for i in np.nonzero(~np.isfinite(out)))
            raise FeatureError(_not_finite(self.output_names[col], float(out[row, col]), row))
        return out

    def predict_one(self, features: Mapping[str, Any]) -> dict[str, float]:
        """One row of features (the card's names) -> {output: value} in the card's units.

        A missing feature, or NaN/None where the card says missing="error", raises
        FeatureError naming it; strings may be None (read as "unknown", as in training)."""
        one = self._one
        for f in self.features:
            try:
                value = features[f.name]
            except KeyError:
                raise FeatureError(_missing_message(f, self.feature_names)) from None
            if f.dtype == "string":
                one[f.name][0, 0] = MISSING if value is None else _text(f, value)
            else:
                one[f.name][0, 0] = _number(f, value)
        res = self._session.run(self.output_names, one)
        out = {name: float(r[0, 0]) for name, r in zip(self.output_names, res, strict=True)}
        for name, value in out.items():
            if not math.isfinite(value):
                raise FeatureError(_not_finite(name, value, None))
        return out

    def predict_columns(self, columns: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Columns (one sequence per feature) -> {output: array (N,)}, checked like
        `predict_one`; the error names the feature and the first bad row."""
        out = self.run(feeds(columns, self.features))
        return {name: out[:, i] for i, name in enumerate(self.output_names)}

    def predict(self, rows: Any) -> np.ndarray:
        """Rows as columns (a dict, a polars/pyarrow/pandas table) or a list of dicts: an array
        (N,) for one output, (N, K) in `output_names` order for several."""
        out = self.run(feeds(as_columns(rows), self.features))
        return out[:, 0] if out.shape[1] == 1 else out

    def session(self, **limits: Any) -> Any:
        """A stateful feature session for this model's kind (see predictors.runtime.session)."""
        from predictors.runtime.sessions import session_class

        return session_class(self.kind)(self, **limits)

    def __repr__(self) -> str:
        return f"Model({self.kind!r}, {self.model_dir}, features={self.feature_names})"


def _check_digest(session: Any, card: dict[str, Any], model_dir: Path) -> None:
    """Refuse a card whose defining parts (kind, features, outputs, parts, options) are not
    those model.onnx was exported with. Models exported before the digest existed carry none."""
    recorded = session.get_modelmeta().custom_metadata_map.get(DIGEST_KEY)
    if recorded is not None and recorded != card_digest(card):
        raise ModelCardError(
            f"{model_dir / CARD} was edited after `traces train` wrote it: its "
            f"{', '.join(DEFINING)} are no longer those {ONNX} was exported with (model.onnx "
            f"records card digest {recorded[:12]}..., the card gives "
            f"{card_digest(card)[:12]}...). Restore {CARD} from where you got the model, or "
            f"train it again: {retrain_command(card, model_dir)}."
        )


def load(model_dir: Path | str) -> Model:
    """Load MODEL_DIR for prediction with onnxruntime. Refuses a card that is damaged
    (ModelCardError) and a model.onnx whose sha256 is not the card's (ModelFileMismatch)."""
    return Model(model_dir)


# --- checking values ----------------------------------------------------------------------


def _number(f: Feature, value: Any) -> float:
    if value is None:
        if f.missing == "nan":
            return math.nan
        raise FeatureError(f"Feature {f.name!r} is missing (None): {_expects(f)}")
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise FeatureError(f"Feature {f.name!r} must be a number, got {value!r:.60}: {_expects(f)}")
    x = float(value)
    if not math.isfinite(x) and not (math.isnan(x) and f.missing == "nan"):
        raise FeatureError(f"Feature {f.name!r} is {x}: {_expects(f)}")
    if abs(x) > FLOAT32_MAX:
        raise FeatureError(
            f"Feature {f.name!r} is {x:g}, beyond what the model's float32 input holds "
            f"(±{FLOAT32_MAX:.3g}): {_expects(f)}"
        )
    return x


def _text(f: Feature, value: Any) -> str:
    if not isinstance(value, str):
        raise FeatureError(f"Feature {f.name!r} must be text, got {value!r:.60}: {_expects(f)}")
    return value


def _not_finite(output: str, value: float, row: int | None) -> str:
    where = f" at row {row}" if row is not None else ""
    return (
        f"The model gave {value} for {output!r}{where}: an input is far outside the range it "
        "was trained on (see the card's features and units). Nothing is returned as NaN or inf."
    )


def _expects(f: Feature) -> str:
    unit = f" ({f.unit})" if f.unit else ""
    nan = " NaN means none." if f.missing == "nan" else ""
    return f"{f.description}{unit}{nan}"


def _missing_message(f: Feature, names: Sequence[str]) -> str:
    return (
        f"Feature {f.name!r} is missing: {_expects(f)} The model needs: {', '.join(names)} "
        "(see model.json)."
    )


def feeds(columns: Mapping[str, Any], features: Sequence[Feature]) -> dict[str, np.ndarray]:
    """`[N, 1]` ONNX inputs from columns, checked: every feature present, numbers finite
    unless the feature allows NaN (FeatureError names the feature and the first bad row)."""
    missing = [f for f in features if f.name not in columns]
    if missing:
        raise FeatureError(_missing_message(missing[0], [f.name for f in features]))
    out: dict[str, np.ndarray] = {}
    for f in features:
        col = columns[f.name]
        if f.dtype == "string":
            arr = np.array(col, dtype=object).reshape(-1)
            arr[arr == None] = MISSING  # noqa: E711  (elementwise on an object array)
            bad = np.flatnonzero(np.asarray(_not_text(arr), dtype=bool))
            if bad.size:
                row = int(bad[0])
                raise FeatureError(
                    f"Feature {f.name!r} must be text, got {arr[row]!r:.60} at row {row}: "
                    f"{_expects(f)}"
                )
        else:
            arr = float_column(f, col)
        out[f.name] = arr.reshape(-1, 1)
    return out


_not_text = np.frompyfunc(lambda v: not isinstance(v, str), 1, 1)


def float_column(f: Feature, col: Any) -> np.ndarray:
    """A number column as float32, refusing NaN/inf (and None) unless the feature allows
    NaN; FeatureError names the feature and the first bad row."""
    try:
        values = np.asarray(col, dtype=np.float64)
    except (TypeError, ValueError):
        # None in a list: NaN where allowed, else named below; text: named here.
        items = list(col)
        for row, v in enumerate(items):
            if v is not None and (
                isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating)
            ):
                raise FeatureError(
                    f"Feature {f.name!r} must be a number, got {v!r:.60} at row {row}: "
                    f"{_expects(f)}"
                ) from None
        values = np.array([math.nan if v is None else float(v) for v in items], np.float64)
    bad = ~np.isfinite(values) | (np.abs(values) > FLOAT32_MAX)
    if f.missing == "nan":
        bad &= ~np.isnan(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise FeatureError(
            f"Feature {f.name!r} is {values[row]} at row {row} (missing values count as NaN; "
            f"float32 holds ±{FLOAT32_MAX:.3g}): {_expects(f)}"
        )
    return values.astype(np.float32)


def as_columns(rows: Any) -> Mapping[str, Any]:
    """Columns from a dict of sequences, a list of dicts, or a polars / pyarrow / pandas table
    (recognized by their methods, so none of them is imported here)."""
    if isinstance(rows, Mapping):
        return rows
    if isinstance(rows, list | tuple):
        names: dict[str, None] = {}
        for r in rows:
            if not isinstance(r, Mapping):
                raise PredictorUsageError(
                    f"A list of rows must hold dicts of feature values, got {type(r).__name__}."
                )
            names.update(dict.fromkeys(r))
        return {n: [r.get(n) for r in rows] for n in names}
    if hasattr(rows, "to_pydict"):  # pyarrow Table / RecordBatch
        return dict(rows.to_pydict())
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        try:  # polars: to_dict(as_series=False) gives lists
            return dict(rows.to_dict(as_series=False))
        except TypeError:  # pandas: to_dict("list")
            return dict(rows.to_dict("list"))
    raise PredictorUsageError(
        f"Cannot read rows of type {type(rows).__name__}: pass a dict of columns, a list of "
        "dicts, or a polars, pyarrow or pandas table."
    )
