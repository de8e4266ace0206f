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
from predictors.common import (
    CARD,
    ModelCardError,
    Predictor,
    PredictorUsageError,
    TrainResult,
    load,
    retrain_command,
)

KINDS: dict[str, Any] = {
    output_length.KIND: output_length,
    batch_latency.KIND: batch_latency,
    interference.KIND: interference,
}


# What each kind's `evaluate` reads from the card beyond what `load` checks: dotted path and
# the JSON type it must have. A card edited by hand fails here with the key, not a traceback.
Number = (int, float)
CARD_NEEDS: dict[str, tuple[tuple[str, type | tuple[type, ...]], ...]] = {
    output_length.KIND: (
        ("options.history_lag_s", Number),
        ("options.load", Number),
        ("baselines", dict),
        ("training.data", list),
    ),
    batch_latency.KIND: (
        ("training.pairs", list),
        ("training.data", list),
        ("baselines", dict),
        ("roofline.gpus", dict),
        ("roofline.models", dict),
    ),
    interference.KIND: (
        ("baselines.target", str),
        ("baselines.sku_region_median", dict),
        ("baselines.probe_medians", dict),
        ("baselines.global_median", Number),
        ("probes", list),
        ("probe_features", dict),
        ("options.max_gap_h", Number),
        ("options.history_runs", Number),
        ("training.data", list),
    ),
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
    card_file = Path(model_dir) / CARD
    kind = predictor.kind
    check_card(predictor)
    try:
        result: dict[str, Any] = KINDS[kind].evaluate(predictor, Path(lake), trace)
    except (KeyError, TypeError, IndexError) as e:
        # The lake is read through its canonical schema, so a missing key or a wrong type
        # here comes from the card's tables (baselines, splits) that _check_card does not
        # walk into. --debug shows the traceback if it is a bug instead.
        raise ModelCardError(
            f"{card_file} is not a usable {kind} model card: reading it failed at {e!r}. "
            "The card was edited or damaged after `traces train` wrote it. Restore it from "
            f"where you got the model, or train it again: "
            f"{retrain_command(predictor.card, Path(model_dir))}."
        ) from e
    return result


_JSON_NAMES: dict[type, str] = {dict: "JSON object", list: "list", str: "string"}


def check_card(predictor: Predictor) -> None:
    """Refuse a card of a kind this version does not know, or one that lacks what the kind's
    evaluate and replay read (ModelCardError naming the key)."""
    card_file = predictor.model_dir / CARD
    if predictor.kind not in KINDS:
        raise ModelCardError(
            f"{card_file} names the model kind {predictor.kind!r}, which this version does "
            f"not know (kinds: {', '.join(KINDS)}). The card was edited, or the model comes "
            "from another version of workload-traces: train it again with `traces train`."
        )
    _check_card(predictor.card, predictor.kind, card_file)


def _check_card(card: dict[str, Any], kind: str, card_file: Path) -> None:
    for path, want in CARD_NEEDS[kind]:
        value: Any = card
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if not isinstance(value, want) or isinstance(value, bool):
            name = _JSON_NAMES[want] if isinstance(want, type) else "number"
            raise ModelCardError(
                f"{card_file} is not a usable {kind} model card: '{path}' must be a {name}, "
                f"got {value!r:.60}. The card was edited or damaged after `traces train` wrote "
                f"it. Restore it from where you got the model, or train it again: "
                f"{retrain_command(card, card_file.parent)}."
            )
