"""What every predictor shares: splits, metrics, baselines, ONNX export and loading.

A predictor is a plain scikit-learn pipeline (or a few, one per output: p10/p50/p90) over a
declared list of `Feature`s. Export writes MODEL_DIR:

- `model.onnx`: one graph with one `[N, 1]` input per feature, named as the feature, and one
  `[N, 1]` output per `Output`, in the units of the card. The fixed arithmetic after the
  pipelines (`exp` of a log-space prediction, a calibration offset, scaling by a physical
  estimate) is written into the graph too, so the graph runs in onnxruntime with no project
  import and returns the card's units.
- `model.json`: the model card (kind, features with units and order, outputs, target,
  training traces with the sha256 of their files, split, metrics, versions).
- `model.skops`: the fitted pipelines, loadable with `load_pipelines` (explicit trusted types,
  never "trust all"). Never pickle.

`load(model_dir).predict(rows)` runs the ONNX graph on a polars/pyarrow table or a list of
dicts with the card's feature names.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from analysis.db import LakeDB, jsonable
from predictors.runtime import model as runtime
from predictors.runtime.card import (  # noqa: F401  (re-exported: the names predictors use)
    CARD,
    CARD_FORMAT,
    CARD_VERSION,
    DEFINING,
    DIGEST_KEY,
    MISSING,
    ONNX,
    SKOPS,
    Feature,
    Output,
    card_digest,
    card_problem,
    read_card,
    read_onnx,
    retrain_command,
)
from predictors.runtime.errors import (  # noqa: F401
    FeatureError,
    ModelCardError,
    ModelFileMismatch,
    PredictorDataError,
    PredictorUsageError,
)

OPSET = {"": 17, "ai.onnx.ml": 3}
TEST_FRACTION = 0.30
VALIDATION_FRACTION = 0.15
QUERIES = Path(__file__).resolve().parent / "queries"


@dataclass
class TrainResult:
    """What `train` returns. `card` is what model.json holds; the rest stays in memory."""

    kind: str
    out: Path
    card: dict[str, Any]
    pipelines: dict[str, Any] = field(repr=False, default_factory=dict)
    test_rows: pl.DataFrame | None = field(repr=False, default=None)

    @property
    def metrics(self) -> dict[str, Any]:
        """Held-out metrics in the `evaluate` layout: {"model", "baselines", "rows"}."""
        return dict(self.card["metrics"]["test"])


# --- splits -------------------------------------------------------------------------------


def _as_us(ts: Any) -> np.ndarray:
    """Timestamps (polars/numpy datetimes or numbers of µs) as int64 µs."""
    if isinstance(ts, pl.Series):
        if ts.dtype == pl.Datetime or isinstance(ts.dtype, pl.Datetime):
            ts = ts.dt.cast_time_unit("us").dt.replace_time_zone(None).to_numpy()
        else:
            ts = ts.to_numpy()
    arr = np.asarray(ts)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[us]").astype(np.int64)
    return arr.astype(np.int64)


def time_split(
    ts: Any, test: float = TEST_FRACTION, validation: float = VALIDATION_FRACTION
) -> tuple[np.ndarray, dict[str, int]]:
    """Label rows train/validation/test by time: the last `test` of the time span is the test
    set, the `validation` before it validation, the rest training.

    Fractions are of the span of time, not of rows, so a burst at the end stays in the test
    set. Returns (labels, bounds) with bounds in µs: validation_start, test_start (rows at a
    bound belong to the later set).
    """
    us = _as_us(ts)
    if us.size == 0:
        raise PredictorDataError("No rows to split.")
    lo, hi = int(us.min()), int(us.max())
    span = hi - lo
    val_start = lo + math.floor(span * round(1.0 - test - validation, 12))
    test_start = lo + math.floor(span * round(1.0 - test, 12))
    labels = np.where(us >= test_start, "test", np.where(us >= val_start, "validation", "train"))
    return labels, {"start": lo, "validation_start": val_start, "test_start": test_start, "end": hi}


def labels_from_bounds(ts: Any, bounds: Mapping[str, int]) -> np.ndarray:
    """Labels for rows against bounds recorded by `time_split` (for re-scoring a trace)."""
    us = _as_us(ts)
    return np.where(
        us >= bounds["test_start"],
        "test",
        np.where(us >= bounds["validation_start"], "validation", "train"),
    )


def row_order_split(
    n: int, test: float = TEST_FRACTION, validation: float = VALIDATION_FRACTION
) -> np.ndarray:
    """For traces without time: the last `test` of the rows in file order is the test set."""
    idx = np.arange(n)
    val_start = math.floor(n * round(1.0 - test - validation, 12))
    test_start = math.floor(n * round(1.0 - test, 12))
    return np.where(idx >= test_start, "test", np.where(idx >= val_start, "validation", "train"))


def grouped_split(
    groups: Sequence[str] | np.ndarray,
    test_groups: Iterable[str],
    validation_groups: Iterable[str] = (),
) -> np.ndarray:
    """Label rows by group: every row of a test group is test, of a validation group
    validation, the rest train. A group is never split across sets."""
    g = np.asarray(groups, dtype=object)
    test_set, val_set = set(test_groups), set(validation_groups)
    if test_set & val_set:
        raise PredictorUsageError(
            f"Groups both in test and validation: {', '.join(sorted(test_set & val_set))}."
        )
    present = set(g.tolist())
    missing = (test_set | val_set) - present
    if missing:
        raise PredictorUsageError(
            f"No rows for group(s) {', '.join(sorted(missing))}. Groups present: "
            f"{', '.join(sorted(map(str, present)))}."
        )
    is_test = np.isin(g, list(test_set))
    is_val = np.isin(g, list(val_set))
    return np.where(is_test, "test", np.where(is_val, "validation", "train"))


# --- metrics ------------------------------------------------------------------------------


def _f(y: Any) -> np.ndarray:
    return np.asarray(y, dtype=np.float64).ravel()


def mae(y: Any, p: Any) -> float:
    y, p = _f(y), _f(p)
    return float(np.mean(np.abs(y - p))) if y.size else math.nan


def mape(y: Any, p: Any) -> float:
    """Mean |y - p| / |y| as a fraction, over rows with y != 0."""
    y, p = _f(y), _f(p)
    keep = y != 0
    if not keep.any():
        return math.nan
    return float(np.mean(np.abs(y[keep] - p[keep]) / np.abs(y[keep])))


def pinball(y: Any, q: Any, alpha: float) -> float:
    """Mean pinball (quantile) loss of prediction q for quantile alpha."""
    y, q = _f(y), _f(q)
    d = y - q
    return float(np.mean(np.maximum(alpha * d, (alpha - 1.0) * d))) if y.size else math.nan


def coverage(y: Any, lo: Any, hi: Any) -> float:
    """Fraction of y inside [lo, hi]."""
    y, lo, hi = _f(y), _f(lo), _f(hi)
    return float(np.mean((y >= lo) & (y <= hi))) if y.size else math.nan


def kendall_tau(y: Any, p: Any) -> float:
    """Kendall's tau-b between truth and prediction; NaN when either is constant."""
    from scipy.stats import kendalltau

    y, p = _f(y), _f(p)
    if y.size < 2 or np.all(p == p[0]) or np.all(y == y[0]):
        return math.nan
    return float(kendalltau(y, p).statistic)


def precision_recall(truth: Any, flagged: Any) -> dict[str, float]:
    """Precision, recall and F1 of boolean flags (NaN where undefined)."""
    t = np.asarray(truth, dtype=bool).ravel()
    f = np.asarray(flagged, dtype=bool).ravel()
    tp = float(np.sum(t & f))
    precision = tp / f.sum() if f.sum() else math.nan
    recall = tp / t.sum() if t.sum() else math.nan
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision == precision and recall == recall and precision + recall > 0
        else math.nan
    )
    return {"precision": precision, "recall": recall, "f1": f1}


def quantile_metrics(y: Any, p10: Any, p50: Any, p90: Any) -> dict[str, float]:
    """The issue's distribution metrics; the point prediction is p50."""
    return {
        "mae": mae(y, p50),
        "mape": mape(y, p50),
        "pinball_p10": pinball(y, p10, 0.1),
        "pinball_p50": pinball(y, p50, 0.5),
        "pinball_p90": pinball(y, p90, 0.9),
        "coverage_80": coverage(y, p10, p90),
        "kendall_tau": kendall_tau(y, p50),
    }


# --- baselines ----------------------------------------------------------------------------


def group_quantiles(
    keys: Sequence[str] | np.ndarray, y: Any, qs: Sequence[float], min_rows: int = 1
) -> dict[str, list[float]]:
    """Training quantiles of y per key, plus "*" for all rows: the median baselines."""
    y = _f(y)
    k = np.asarray(keys, dtype=object)
    out = {"*": [float(np.quantile(y, q)) for q in qs]} if y.size else {}
    for key in sorted(set(k.tolist()), key=str):
        sel = y[k == key]
        if sel.size >= min_rows:
            out[str(key)] = [float(np.quantile(sel, q)) for q in qs]
    return out


def lookup(table: Mapping[str, Sequence[float]], keys: Iterable[Any], i: int) -> np.ndarray:
    """Quantile i of each key's row in a `group_quantiles` table, "*" for unseen keys."""
    default = table["*"][i]
    return np.array([table.get(str(k), table["*"])[i] if k is not None else default for k in keys])


# --- lake helpers -------------------------------------------------------------------------


def open_lake(lake: Path) -> LakeDB:
    return LakeDB(Path(lake))


@cache
def sql_file(name: str) -> str:
    """The SQL of predictors/queries/<name>.sql."""
    path = QUERIES / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"No query {name!r} in {QUERIES}")
    return path.read_text()


def provenance(db: LakeDB, traces: Sequence[str]) -> list[dict[str, Any]]:
    """Each trace's source and files with sha256, from the lake manifests."""
    manifests = {m["trace"]: m for m in db.lake.manifests()}
    out = []
    for trace in traces:
        info = db.info(trace)  # raises LakeError naming the known traces
        m = manifests[trace]
        paths = [Path(f["path"]) for f in m.get("files", [])]
        root = Path(os.path.commonpath(paths)) if len(paths) > 1 else None
        out.append(
            {
                "trace": trace,
                "source": info.source,
                "files": [
                    {
                        "file": str(path.relative_to(root) if root else path.name),
                        "sha256": f.get("sha256"),
                        "bytes": f.get("bytes"),
                    }
                    for path, f in zip(paths, m.get("files", []), strict=True)
                ],
                "rows": dict(info.tables),
                "ingested_at": m.get("ingested_at"),
            }
        )
    return out


def fingerprint(*columns: Any) -> str:
    """sha256 of columns of values in order: recognizes the same data under another name
    (Vidur's splitwise_conv is Azure LLM 2023 conv with other timestamps)."""
    h = hashlib.sha256()
    for col in columns:
        arr = np.ascontiguousarray(np.asarray(col, dtype=np.float64))
        h.update(arr.tobytes())
    return h.hexdigest()


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for dist in (
        "workload-traces",
        "scikit-learn",
        "skl2onnx",
        "onnx",
        "onnxruntime",
        "skops",
        "numpy",
        "polars",
        "duckdb",
    ):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def us_to_iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat()


# --- model-space frames --------------------------------------------------------------------


def model_frame(rows: pl.DataFrame, features: Sequence[Feature]) -> pl.DataFrame:
    """What the sklearn pipelines see: floats as float32 (as ONNX sees them), null strings as
    MISSING."""
    cols = []
    for f in features:
        if f.name not in rows.columns:
            raise PredictorUsageError(f"Rows lack feature {f.name!r}.")
        c = rows[f.name]
        if f.dtype == "string":
            cols.append(c.cast(pl.String).fill_null(MISSING).alias(f.name))
        else:
            cols.append(c.cast(pl.Float64).fill_null(float("nan")).cast(pl.Float32).alias(f.name))
    return pl.DataFrame(cols)


def apply_output(raw: np.ndarray, out: Output, rows: pl.DataFrame | None) -> np.ndarray:
    """The same arithmetic the ONNX graph applies after a pipeline, in float32."""
    r = np.asarray(raw, dtype=np.float32).ravel() + np.float32(out.offset)
    if out.inverse == "exp":
        r = np.exp(r)
    elif out.inverse == "expm1":
        r = np.exp(r) - np.float32(1.0)
    if out.scale_by is not None:
        assert rows is not None
        r = r * rows[out.scale_by].cast(pl.Float32).to_numpy()
    return r.astype(np.float32)


def sklearn_predict(
    pipelines: Mapping[str, Any],
    features: Sequence[Feature],
    outputs: Sequence[Output],
    rows: pl.DataFrame,
    parts: Mapping[str, str],
) -> np.ndarray:
    """Predictions of the fitted pipelines with the output arithmetic: (N, len(outputs))."""
    x = model_frame(rows, features)
    pre = {o.name: apply_output(pipelines[parts[o.name]].predict(x), o, rows) for o in outputs}
    cols = []
    for o in outputs:
        col = pre[o.name]
        if o.at_most:
            col = np.minimum(col, pre[o.at_most])
        if o.at_least:
            col = np.maximum(col, pre[o.at_least])
        cols.append(col)
    return np.column_stack(cols)


# --- ONNX ---------------------------------------------------------------------------------


def build_onnx(
    pipelines: Mapping[str, Any],
    features: Sequence[Feature],
    outputs: Sequence[Output],
    parts: Mapping[str, str],
    doc: str = "",
) -> Any:
    """One ONNX graph: feature inputs -> one shared encoding -> one tree ensemble holding
    every pipeline's trees -> each output's arithmetic (see predictors.onnx_graph)."""
    from predictors import onnx_graph

    return onnx_graph.build(pipelines, features, outputs, parts, OPSET, doc)


def onnx_feeds(rows: Any, features: Sequence[Feature]) -> dict[str, np.ndarray]:
    """ONNX inputs from a polars/pyarrow table, a dict of columns or a list of dicts."""
    frame = as_frame(rows)
    missing = [f.name for f in features if f.name not in frame.columns]
    if missing:
        raise PredictorUsageError(
            f"Rows lack feature(s) {', '.join(missing)}. The model needs: "
            f"{', '.join(f.name for f in features)} (see model.json)."
        )
    feeds = {}
    for f in features:
        c = frame[f.name]
        if f.dtype == "string":
            arr = c.cast(pl.String).fill_null(MISSING).to_numpy().astype(object)
        else:
            # NaN where the feature does not allow it is refused, naming the feature and row
            arr = runtime.float_column(f, c.cast(pl.Float64).fill_null(float("nan")).to_numpy())
        feeds[f.name] = arr.reshape(-1, 1)
    return feeds


def as_frame(rows: Any) -> pl.DataFrame:
    if isinstance(rows, pl.DataFrame):
        return rows
    if isinstance(rows, pa.Table | pa.RecordBatch):
        return pl.DataFrame(pl.from_arrow(rows))
    if isinstance(rows, Mapping):
        return pl.DataFrame(dict(rows))
    if isinstance(rows, list | tuple):
        return pl.DataFrame(list(rows), infer_schema_length=None)
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # pandas
        return pl.from_pandas(rows)
    raise PredictorUsageError(
        f"Cannot read rows of type {type(rows).__name__}: pass a polars or pyarrow table, "
        "a dict of columns or a list of dicts."
    )


# --- export and load ----------------------------------------------------------------------

# Types a skops file of ours holds beyond those skops trusts by default; load refuses others.
SKOPS_TRUSTED = [
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils._bunch.Bunch",  # a dict: VotingRegressor.named_estimators_
]


def export(
    out: Path,
    card: dict[str, Any],
    pipelines: Mapping[str, Any],
    features: Sequence[Feature],
    outputs: Sequence[Output],
    parts: Mapping[str, str],
    skops_file: bool = True,
    golden_rows: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """Write MODEL_DIR: model.onnx, model.skops (optional) and model.json. Returns the card.

    With `golden_rows` (held-out rows), the card's "golden" section holds 8-16 of them as fed
    to the graph and what onnxruntime returned (predictors/golden.py): what another runtime
    checks itself against (consumers/node)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = build_onnx(pipelines, features, outputs, parts, doc=card.get("kind", ""))
    defining = {
        **card,
        "features": [asdict(f) for f in features],
        "outputs": [asdict(o) for o in outputs],
        "parts": dict(parts),
    }
    # as the card will be read back: JSON types (tuples become lists, numpy numbers floats)
    digest = card_digest(json.loads(json.dumps(jsonable({k: defining.get(k) for k in DEFINING}))))
    model.metadata_props.add(key=DIGEST_KEY, value=digest)
    data = model.SerializeToString()
    (out / ONNX).write_bytes(data)
    card = dict(card)
    card.update(
        {
            "format": CARD_FORMAT,
            "card_version": CARD_VERSION,
            "features": [asdict(f) for f in features],
            "outputs": [asdict(o) for o in outputs],
            "parts": dict(parts),
            "versions": versions(),
            "onnx": {
                "file": ONNX,
                "sha256": hashlib.sha256(data).hexdigest(),
                "opset": dict(OPSET),
                "inputs": "one float32 or string tensor [N, 1] per feature, named as the feature",
                "outputs": "one float32 tensor [N, 1] per output, named as the output",
            },
        }
    )
    if skops_file:
        import skops.io as sio

        skops_data = sio.dumps(dict(pipelines))
        (out / SKOPS).write_bytes(skops_data)
        card["skops"] = {
            "file": SKOPS,
            "sha256": hashlib.sha256(skops_data).hexdigest(),
            "trusted_types": "predictors.common.SKOPS_TRUSTED",
        }
    if golden_rows is not None:
        from predictors.golden import golden_vectors

        card["golden"] = golden_vectors(data, features, [o.name for o in outputs], golden_rows)
    text = json.dumps(jsonable(card), indent=2, sort_keys=True, allow_nan=False)
    (out / CARD).write_text(text + "\n")
    return card


def load_pipelines(model_dir: Path) -> dict[str, Any]:
    """The fitted scikit-learn pipelines from model.skops, trusting only SKOPS_TRUSTED."""
    import skops.io as sio

    path = Path(model_dir) / SKOPS
    if not path.is_file():
        raise PredictorDataError(f"{model_dir} has no {SKOPS}.")
    data = path.read_bytes()
    # Cards written before the skops file had a checksum have none: its types are still
    # checked against SKOPS_TRUSTED below, which is what keeps code out.
    card = read_card(Path(model_dir))
    expected = card.get("skops", {}).get("sha256") if isinstance(card.get("skops"), dict) else None
    actual = hashlib.sha256(data).hexdigest()
    if expected is not None and actual != expected:
        raise ModelFileMismatch(
            f"{path} is not the file its card describes: its sha256 is {actual}, {CARD} "
            f"records {expected}. Restore the original {SKOPS}, or train the model again: "
            f"{retrain_command(card, Path(model_dir))}."
        )
    found = set(sio.get_untrusted_types(data=data))
    if found - set(SKOPS_TRUSTED):
        raise PredictorDataError(
            f"{path} holds types this project does not trust: "
            f"{', '.join(sorted(found - set(SKOPS_TRUSTED)))}."
        )
    return dict(sio.loads(data, trusted=sorted(found)))


class Predictor(runtime.Model):
    """The light runtime's Model, also taking polars frames fast (no row-by-row conversion)
    and returning them: `predict_frame(rows)`. Training, evaluation and `traces predict` use
    it; a scheduler uses `predictors.runtime.load`."""

    @property
    def outputs(self) -> list[str]:
        return self.output_names

    def predict(self, rows: Any) -> np.ndarray:
        out = self.run(onnx_feeds(rows, self.features))
        return out[:, 0] if out.shape[1] == 1 else out

    def predict_frame(self, rows: Any) -> pl.DataFrame:
        out = self.run(onnx_feeds(rows, self.features))
        return pl.DataFrame({name: out[:, i] for i, name in enumerate(self.outputs)})

    def __repr__(self) -> str:
        return f"Predictor({self.kind!r}, {self.model_dir}, features={self.feature_names})"


def load(model_dir: Path | str) -> Predictor:
    """Load MODEL_DIR for prediction with onnxruntime. Refuses a card that is damaged
    (ModelCardError) and a model.onnx whose sha256 is not the card's (ModelFileMismatch)."""
    return Predictor(Path(model_dir))


def parity(
    predictor: Predictor,
    pipelines: Mapping[str, Any],
    rows: pl.DataFrame,
) -> dict[str, float]:
    """Largest relative difference between onnxruntime and the sklearn pipelines on rows."""
    features = predictor.features
    outputs = [Output(**o) for o in predictor.card["outputs"]]
    sk = sklearn_predict(pipelines, features, outputs, rows, predictor.card["parts"])
    ox = predictor.run(onnx_feeds(rows, features))
    denom = np.maximum(np.abs(sk), 1e-12)
    rel = np.abs(ox - sk) / denom
    return {
        "rows": int(rows.height),
        "max_rel_diff": float(rel.max()) if rel.size else 0.0,
        "rows_over_1e-4": int(np.sum(rel.max(axis=1) > 1e-4)) if rel.size else 0,
    }


def evaluation(
    model: Mapping[str, float],
    baselines: Mapping[str, Mapping[str, float]],
    rows: int,
    **extra: Any,
) -> dict[str, Any]:
    """The evaluate JSON: {"model": {...}, "baselines": {...}, "rows": N, ...extra}."""
    out: dict[str, Any] = {
        "model": dict(model),
        "baselines": {k: dict(v) for k, v in baselines.items()},
        "rows": int(rows),
    }
    out.update(extra)
    return dict(jsonable(out))


def write_card(model_dir: Path, card: Mapping[str, Any]) -> None:
    (Path(model_dir) / CARD).write_text(json.dumps(jsonable(card), indent=2, sort_keys=True) + "\n")


def seen_as(card: Mapping[str, Any], trace: str, data_fingerprint: str) -> dict[str, Any] | None:
    """The training entry of a trace the model saw, by name or by identical data."""
    for entry in card["training"]["data"]:
        if entry["trace"] == trace or entry.get("fingerprint") == data_fingerprint:
            return dict(entry)
    return None
