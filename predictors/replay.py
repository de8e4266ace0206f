"""`traces predict`: a model's predictions for every row of a trace, in batch or online.

Batch: the features come from the lake, computed by the training code (polars), and the
whole frame goes through the ONNX graph at once. Online: the same rows are replayed in
arrival order through the light runtime's session (`predictors.runtime`), one
`predict(request)` and then `observe(request, ...)` each, as a scheduler would call it. The
two must agree (to 1e-6 relative): that is the proof that a scheduler sees what training saw.

Each predictor module exposes `replay(db, trace, card) -> Replay`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from predictors.runtime.errors import PredictorDataError, PredictorUsageError


@dataclass
class Replay:
    """The rows of a trace a model predicts, in the lake's (arrival) order.

    `keys`: the columns written beside the predictions; `features`: the batch features
    (the card's names); `requests` and `observations`: the same rows as a session sees them
    (an empty observation means nothing to observe); `session_options`: e.g. the clock."""

    keys: pl.DataFrame
    features: pl.DataFrame
    requests: Sequence[Mapping[str, Any]]
    observations: Sequence[Mapping[str, Any]]
    session_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.keys.height
        if not (self.features.height == len(self.requests) == len(self.observations) == n):
            raise ValueError(
                f"replay parts differ in length: keys {n}, features {self.features.height}, "
                f"requests {len(self.requests)}, observations {len(self.observations)}"
            )


def prediction_columns(output_names: Sequence[str], target: str | None) -> dict[str, str]:
    """Output name -> column name: `output_tokens_p50` for a target's quantiles, else the
    output name itself (`time_s`, `ratio`)."""
    return {o: (f"{target}_{o}" if target and o.startswith("p") else o) for o in output_names}


def batch_predictions(predictor: Any, replay: Replay) -> np.ndarray:
    """(N, K) from the lake's features through the graph at once."""
    from predictors.common import onnx_feeds

    if replay.keys.height == 0:
        return np.empty((0, len(predictor.output_names)), dtype=np.float32)
    out: np.ndarray = predictor.run(onnx_feeds(replay.features, predictor.features))
    return out


def online_predictions(
    model: Any, replay: Replay, progress: Callable[[int], None] | None = None
) -> np.ndarray:
    """(N, K) from one session: predict then observe, row by row in arrival order."""
    session = model.session(**replay.session_options)
    names = model.output_names
    out = np.empty((len(replay.requests), len(names)), dtype=np.float32)
    for i, (request, seen) in enumerate(zip(replay.requests, replay.observations, strict=True)):
        pred = session.predict(request)
        out[i] = [pred[n] for n in names]
        if seen:
            session.observe(request, **seen)
        if progress is not None and i % 1024 == 1023:
            progress(1024)
    if progress is not None:
        progress(len(replay.requests) % 1024)
    return out


def max_relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| / max(|b|, 1e-12) over all cells (0 for no rows); NaN in both counts
    as equal, NaN in one as infinitely different."""
    if a.size == 0:
        return 0.0
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    rel = np.where(both_nan, 0.0, diff / np.maximum(np.abs(b.astype(np.float64)), 1e-12))
    rel = np.where(np.isnan(rel), math.inf, rel)
    return float(rel.max())


@dataclass
class PredictResult:
    out: Path
    rows: int
    mode: str
    columns: list[str]
    seconds: float


def predict_trace(
    model_dir: Path,
    lake: Path,
    trace: str,
    out: Path,
    online: bool = False,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> PredictResult:
    """Write OUT (Parquet): one row per row of the trace the model predicts, its key columns
    and the named prediction columns."""
    import time

    from predictors.api import KINDS, check_card
    from predictors.common import load, open_lake

    start = time.perf_counter()
    out = Path(out)
    if out.suffix.lower() != ".parquet":
        raise PredictorUsageError(f"--out must name a .parquet file, got {out}.")
    if out.is_dir():
        raise PredictorUsageError(f"--out {out} is a folder: name a .parquet file in it.")
    predictor = load(model_dir)
    check_card(predictor)
    module = KINDS[predictor.kind]
    db = open_lake(lake)
    try:
        replay: Replay = module.replay(db, trace, predictor.card)
    finally:
        db.close()
    if replay.keys.height == 0:
        raise PredictorDataError(
            f"Trace {trace!r} has no rows a {predictor.kind} model can predict."
        )
    if on_total is not None:
        on_total(replay.keys.height)
    if online:
        values = online_predictions(predictor, replay, progress)
    else:
        values = batch_predictions(predictor, replay)
        if progress is not None:
            progress(replay.keys.height)
    target = predictor.card.get("target", {}).get("name")
    names = prediction_columns(predictor.output_names, target)
    frame = replay.keys.with_columns(
        pl.Series(names[o], values[:, i], dtype=pl.Float32)
        for i, o in enumerate(predictor.output_names)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        frame.write_parquet(tmp)
        tmp.replace(out)  # never a half-written file under the name asked for
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise PredictorDataError(
            f"Cannot write --out {out}: {e.strerror or e}. Pick a writable place."
        ) from e
    return PredictResult(
        out, frame.height, "online" if online else "batch", list(names.values()),
        time.perf_counter() - start,
    )  # fmt: skip
