"""Golden vectors for a model card: a few held-out rows, exactly as model.onnx is fed them,
and what onnxruntime answered, so that any other runtime (consumers/node) can prove it runs the
same model.

`golden_vectors(onnx_bytes, features, outputs, rows)` picks 8-16 rows deterministically (no
randomness: the same rows give the same choice):

1. for each float feature that may be missing (`Feature.missing == "nan"`), the first row where
   it is NaN, so a consumer must pass NaN through rather than drop or zero it;
2. for each string feature, the first row whose category is null (fed as "unknown") and the
   first whose category the graph's one-hot encoders never saw, where the rows hold such;
3. then rows at evenly spaced ranks of the first output, from its lowest to its highest value.

Golden rows are valid requests: rows the runtime refuses (NaN or infinity in a feature that
must not be missing, `missing == "error"`) are left out, and so are rows on which the graph
returns a non-finite value. Fewer than 8 valid rows give fewer golden rows.

Values are written as the graph sees them: floats as float32 widened to a double (exact in JSON
and back), NaN as JSON null (json.dumps would write a bare NaN, which is not JSON), strings with
null already replaced by "unknown".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from predictors.common import MISSING, Feature, PredictorDataError, onnx_feeds

MIN_ROWS = 8
TARGET_ROWS = 12
MAX_ROWS = 16
RELATIVE = 1e-5
# The absolute tolerance is this fraction of the smallest non-zero golden output, so that it
# only decides for outputs that are exactly zero (latency outputs are microseconds, token
# counts hundreds: no fixed number suits both).
ABSOLUTE_OF_SMALLEST = 1e-5
HOW = (
    "Feed model.onnx one [N, 1] tensor per feature, float32 for float features (null means "
    "NaN) or string, and each output [N, 1] must match its list row by row within "
    "|actual - expected| <= absolute + relative * |expected|."
)


def golden_vectors(
    onnx_model: bytes,
    features: Sequence[Feature],
    outputs: Sequence[str],
    rows: pl.DataFrame,
) -> dict[str, Any]:
    """The card's "golden" section for the graph `onnx_model` on rows chosen from `rows`."""
    rows = valid_requests(rows, features)
    feeds = onnx_feeds(rows, features)
    session = _session(onnx_model)
    chosen = pick_rows(
        feeds,
        _run(session, feeds, outputs),
        features,
        known_categories(onnx_model, features),
    )
    index = np.array([i for i, _ in chosen], dtype=np.int64)
    feeds = {name: col[index] for name, col in feeds.items()}
    # The outputs of the golden batch itself: over a large batch onnxruntime's tree ensembles
    # add up in another order (threads), which can move the last bit of a float32.
    predictions = _run(session, feeds, outputs)
    return {
        "rows": len(chosen),
        "inputs": {f.name: _encode(feeds[f.name][:, 0], f.dtype == "string") for f in features},
        "outputs": {name: _encode(predictions[:, k], False) for k, name in enumerate(outputs)},
        "picked_for": [why for _, why in chosen],
        "tolerance": {"relative": RELATIVE, "absolute": _absolute(predictions)},
        "how": HOW,
        "computed_with": f"onnxruntime {_ort_version()} (Python, CPU)",
    }


def pick_rows(
    feeds: Mapping[str, np.ndarray],
    predictions: np.ndarray,
    features: Sequence[Feature],
    known: Mapping[str, set[str]],
) -> list[tuple[int, str]]:
    """(row index, why it was picked), in row order; see the module docstring for the rules."""
    n = predictions.shape[0]
    candidates = np.flatnonzero(np.isfinite(predictions).all(axis=1))
    if candidates.size < min(MIN_ROWS, n):
        candidates = np.arange(n)  # a graph that answers NaN is worth showing too
    picked: dict[int, str] = {}

    def take(i: int, why: str) -> None:
        if i not in picked and len(picked) < MAX_ROWS:
            picked[i] = why

    for f in features:
        col = feeds[f.name][candidates, 0]
        if f.dtype == "string":
            seen = known.get(f.name)
            null = [k for k, v in enumerate(col) if v == MISSING]
            unseen = [
                k
                for k, v in enumerate(col)
                if v != MISSING and seen is not None and str(v) not in seen
            ]
            if null:
                take(int(candidates[null[0]]), f"{f.name} null (fed as {MISSING!r})")
            if unseen:
                v = col[unseen[0]]
                take(int(candidates[unseen[0]]), f"{f.name} {v!r} unseen in training")
        else:
            nan = np.flatnonzero(np.isnan(col.astype(np.float64)))
            if nan.size:
                take(int(candidates[nan[0]]), f"{f.name} NaN")
    order = candidates[np.argsort(predictions[candidates, 0], kind="stable")]
    slots = max(TARGET_ROWS - len(picked), 0)
    if slots and order.size:
        ranks = sorted({round(k * (order.size - 1) / max(slots - 1, 1)) for k in range(slots)})
        for r in ranks:
            take(int(order[r]), f"rank {r + 1} of {order.size} by the first output")
    for i in candidates:  # few distinct ranks (tiny inputs): top up in row order
        if len(picked) >= min(MIN_ROWS, candidates.size):
            break
        take(int(i), "fill")
    return sorted(picked.items())


def valid_requests(rows: pl.DataFrame, features: Sequence[Feature]) -> pl.DataFrame:
    """The rows the runtime accepts: every float feature finite, or NaN/null where the feature
    may be missing (`missing == "nan"`). Raises when none is left, naming the features."""
    keep = pl.lit(True)
    for f in features:
        if f.dtype == "string" or f.name not in rows.columns:
            continue  # a lacking feature is named by onnx_feeds
        x = pl.col(f.name).cast(pl.Float64)
        ok = x.is_finite()
        if f.missing == "nan":
            ok = ok | x.is_null() | x.is_nan()
        keep = keep & ok.fill_null(False)
    valid = rows.filter(keep)
    if valid.height == 0:
        strict = [f.name for f in features if f.dtype != "string" and f.missing != "nan"]
        raise PredictorDataError(
            f"None of the {rows.height} rows given for golden vectors is a valid request: each "
            f"has a missing or infinite value in a feature that must be a number "
            f"({', '.join(strict) or 'none'}). Pass held-out rows the model can be asked about."
        )
    return valid


def known_categories(onnx_model: bytes, features: Sequence[Feature]) -> dict[str, set[str]]:
    """The categories the graph's one-hot encoders know, per string feature fed to one
    directly. A feature reached through other nodes first (a column selector) gets the union of
    the encoders it cannot be told apart from, so "unseen" errs towards "seen"."""
    import onnx

    model = onnx.load_from_string(onnx_model)
    names = {f.name for f in features if f.dtype == "string"}
    direct: dict[str, set[str]] = {}
    indirect: set[str] = set()
    for node in model.graph.node:
        if node.op_type != "OneHotEncoder":
            continue
        cats = {
            s.decode("utf-8") for a in node.attribute if a.name == "cats_strings" for s in a.strings
        }
        if node.input[0] in names:
            direct.setdefault(node.input[0], set()).update(cats)
        else:
            indirect |= cats
    out = dict(direct)
    if indirect:
        for name in names - set(direct):
            out[name] = set(indirect)
    return out


def _session(onnx_model: bytes) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(onnx_model, opts, providers=["CPUExecutionProvider"])


def _run(session: Any, feeds: Mapping[str, np.ndarray], outputs: Sequence[str]) -> np.ndarray:
    res = session.run(list(outputs), dict(feeds))
    return np.column_stack([np.asarray(r, dtype=np.float32).reshape(-1) for r in res])


def _encode(values: np.ndarray, is_string: bool) -> list[Any]:
    if is_string:
        return [str(v) for v in values]
    # float32 -> double is exact, and repr(double) round-trips through JSON.
    return [None if math.isnan(v) else float(v) for v in np.asarray(values, np.float32).tolist()]


def _absolute(values: np.ndarray) -> float:
    mags = np.abs(values[np.isfinite(values) & (values != 0)])
    return float(mags.min() * ABSOLUTE_OF_SMALLEST) if mags.size else 1e-12


def _ort_version() -> str:
    import onnxruntime as ort

    return str(ort.__version__)
