"""The two entry points the CLI calls: `train` and `evaluate`.

    train("output-length", lake, ["azure_llm_2023_conv"], Path("models/ol"))
    train("latency", lake, ["vidur_profiling"], Path("models/lat"), holdout="microsoft/phi-2")
    train("interference", lake, ["azure_vm_noise_2024"], Path("models/vm"), target="redis")
    evaluate(Path("models/ol"), lake, "mooncake_conversation")

Both raise `ingest.errors` subclasses (data errors exit 1, usage errors exit 2 in the CLI).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from predictors import batch_latency, interference, output_length
from predictors.common import PredictorUsageError, TrainResult, load

KINDS: dict[str, Any] = {
    output_length.KIND: output_length,
    batch_latency.KIND: batch_latency,
    interference.KIND: interference,
}


def _module(kind: str) -> Any:
    if kind not in KINDS:
        raise PredictorUsageError(f"Unknown model kind {kind!r}. Kinds: {', '.join(KINDS)}.")
    return KINDS[kind]


def options(kind: str) -> dict[str, Any]:
    """The options `train` accepts for a kind, with their defaults (for CLI help)."""
    fn: Callable[..., Any] = _module(kind).train
    skip = {"lake", "traces", "out"}
    return {
        name: p.default
        for name, p in inspect.signature(fn).parameters.items()
        if name not in skip and p.default is not inspect.Parameter.empty
    }


def train(kind: str, lake: Path, traces: Sequence[str], out: Path, **opts: Any) -> TrainResult:
    """Train a `kind` model on `traces` of the lake, score it on held-out data and write
    MODEL_DIR `out` (model.onnx, model.json, model.skops)."""
    module = _module(kind)
    if not traces:
        raise PredictorUsageError("Name at least one trace to train on (--trace NAME).")
    known = options(kind)
    unknown = sorted(set(opts) - set(known))
    if unknown:
        raise PredictorUsageError(
            f"Unknown option(s) for {kind}: {', '.join(unknown)}. Options: "
            f"{', '.join(known) or 'none'}."
        )
    result: TrainResult = module.train(Path(lake), list(traces), Path(out), **opts)
    return result


def evaluate(model_dir: Path, lake: Path, trace: str) -> dict[str, Any]:
    """Score a saved model on one trace: {"model": {metric: value}, "baselines": {name:
    {metric: value}}, "rows": N, "trace", "scope"}. A trace the model was trained on (by name
    or by identical data) is scored on its held-out part only."""
    predictor = load(model_dir)
    module = _module(predictor.kind)
    result: dict[str, Any] = module.evaluate(predictor, Path(lake), trace)
    return result
