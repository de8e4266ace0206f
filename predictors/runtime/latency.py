"""The latency model's online session: a scheduler describes one operator call, or a whole
batch iteration, and gets its GPU time in seconds.

    from predictors.runtime import load
    session = load("models/latency").session()
    session.predict({"model": "meta-llama/Llama-2-7b-hf", "gpu": "a40",
                     "tensor_parallel": 1, "num_tokens": 512, "operator": "mlp_up_proj"})
    # {"time_s": 0.00071}
    session.predict({"model": "meta-llama/Llama-2-7b-hf", "gpu": "a40",
                     "num_tokens": 512, "n_layers": 32})
    # {"time_s": ..., "layer_s": ..., "embedding_s": ...}

The features are `predictors.runtime.roofline`'s, the functions the batch code calls on the
lake's columns, fed the model dimensions and GPU peaks the card records (roofline.models,
roofline.gpus) or that the request gives. The session keeps no state: a prediction depends on
the request alone, so `observe` accepts a measured `time_s` and ignores it. Standard library,
numpy and onnxruntime only (through the model).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from predictors.runtime import roofline as rf
from predictors.runtime.errors import FeatureError, ModelCardError
from predictors.runtime.session import Session, number, text

Dims = tuple[float, float, float, float, float]  # q, kv, h, f, g as roofline.operator_cost


class LatencySession(Session):
    """Stateless: `predict(request)` -> {"time_s"} for an operator call, or {"time_s",
    "layer_s", "embedding_s"} for a batch iteration. Request fields: the card's
    session.request_fields."""

    LIMITS: ClassVar[dict[str, int]] = {}

    def __init__(self, model: Any, **limits: Any) -> None:
        super().__init__(model, **limits)
        roof = model.card.get("roofline")
        if not (
            isinstance(roof, dict)
            and isinstance(roof.get("gpus"), dict)
            and isinstance(roof.get("models"), dict)
        ):
            raise ModelCardError(
                f"{model.model_dir}/model.json has no roofline.gpus / roofline.models tables, "
                "which the latency session computes its features from: the model was trained "
                "by an older workload-traces. Train it again with `traces train latency`."
            )
        self._gpus: dict[str, tuple[float, float]] = {
            str(k).lower(): (float(v["peak_flops"]), float(v["mem_bw"]))
            for k, v in roof["gpus"].items()
        }
        self._models: dict[str, tuple[Dims, tuple[str, ...]]] = {
            str(k): (_card_dims(v), tuple(v.get("operators") or rf.OPERATORS))
            for k, v in roof["models"].items()
        }

    # --- request fields ---------------------------------------------------------------------

    def _tokens(self, request: Mapping[str, Any]) -> tuple[float, float]:
        n = _whole(request, "num_tokens", "tokens in the batch iteration, a whole number >= 1")
        t = _whole(
            request,
            "tensor_parallel",
            "the tensor-parallel degree, a whole number >= 1 (default 1)",
            default=1.0,
        )
        return n, t

    def _model(self, request: Mapping[str, Any]) -> tuple[Dims, tuple[str, ...]]:
        given = [k for k in rf.DIMS if request.get(k) is not None]
        if given:
            what = "model dimension (as in Vidur's model configs), a whole number >= 1"
            q, kv, h, f = (_whole(request, k, what) for k in rf.DIMS[:4])
            gated = request.get("use_gated_mlp")
            if not isinstance(gated, bool | np.bool_):
                raise FeatureError(
                    f"Request field 'use_gated_mlp' must be true or false with the model "
                    f"dimensions, got {gated!r:.60}: whether the MLP is gated (SwiGLU, Llama) "
                    "or not (phi-2)."
                )
            ops = request.get("operators")
            return (q, kv, h, f, 1.0 if gated else 0.0), _operators(ops) if ops else rf.OPERATORS
        name = text(request, "model", "a model name of the card's roofline.models")
        if name is None:
            raise FeatureError(
                "Request field 'model' is missing: give a model name the card knows "
                f"({', '.join(self._models)}) or its dimensions {', '.join(rf.DIMS)}."
            )
        if name not in self._models:
            raise FeatureError(
                f"Request field 'model' is {name!r}, which the card does not know (known: "
                f"{', '.join(self._models)}); give its dimensions {', '.join(rf.DIMS)} instead."
            )
        dims, ops = self._models[name]
        if request.get("operators"):
            ops = _operators(request["operators"])
        return dims, ops

    def _gpu(self, request: Mapping[str, Any]) -> tuple[float, float]:
        peak = number(request, "peak_flops", "peak dense FP16 FLOP/s", required=False)
        bw = number(request, "mem_bw", "memory bandwidth in bytes/s", required=False)
        if peak is not None or bw is not None:
            if peak is None or bw is None or peak <= 0 or bw <= 0:
                raise FeatureError(
                    "Request fields 'peak_flops' and 'mem_bw' go together and must both be "
                    f"> 0 (got peak_flops={peak!r}, mem_bw={bw!r}): the GPU's datasheet peak "
                    "dense FP16 FLOP/s and memory bandwidth in bytes/s."
                )
            return peak, bw
        name = text(request, "gpu", "a GPU name of the card's roofline.gpus")
        if name is None:
            raise FeatureError(
                "Request field 'gpu' is missing: give a GPU name the card knows "
                f"({', '.join(self._gpus)}) or its peaks 'peak_flops' and 'mem_bw'."
            )
        key = name.strip().lower()
        if key not in self._gpus:
            raise FeatureError(
                f"Request field 'gpu' is {name!r}, which the card does not know (known: "
                f"{', '.join(self._gpus)}); give its datasheet 'peak_flops' (dense FP16 "
                "FLOP/s) and 'mem_bw' (bytes/s) instead."
            )
        return self._gpus[key]

    # --- features and predictions -----------------------------------------------------------

    def features(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The model's features of one operator call (the request must name `operator`)."""
        request = _request(request)
        op = text(request, "operator", "a Vidur operator name")
        if op is None:
            raise FeatureError(
                "Request field 'operator' is missing: features() describes one operator call "
                f"({', '.join(rf.OPERATORS)}). A request without it is a batch iteration, "
                "which predict() answers."
            )
        n, t = self._tokens(request)
        dims, _ = self._model(request)
        return self._row(op, n, t, dims, self._gpu(request))

    def _row(
        self, op: str, n: float, t: float, dims: Dims, gpu: tuple[float, float]
    ) -> dict[str, Any]:
        try:
            flops, nbytes = rf.operator_cost(op, n, t, *dims)
        except rf.UnknownOperator as e:
            raise FeatureError(f"Request field 'operator' is {op!r}: {e}") from None
        feats: dict[str, Any] = rf.roofline_features(flops, nbytes, gpu[0], gpu[1])
        for k, v in feats.items():
            if not math.isfinite(v) or v <= 0:
                raise FeatureError(
                    f"Feature {k!r} is {v} for operator {op!r} with num_tokens={n:g}, "
                    f"tensor_parallel={t:g}: check the model dimensions and GPU peaks."
                )
        feats.update({"operator": op, "num_tokens": n, "tensor_parallel": t})
        return feats

    def predict(self, request: Mapping[str, Any]) -> dict[str, float]:
        """{"time_s"} of one operator call, or for a request without `operator` (needs
        `n_layers`) {"time_s": embedding_s + n_layers * layer_s, "layer_s", "embedding_s"}."""
        request = _request(request)
        if request.get("operator") is not None:
            out: dict[str, float] = self.model.predict_one(self.features(request))
            return out
        layers = _whole(request, "n_layers", "the model's layers, a whole number >= 1")
        n, t = self._tokens(request)
        dims, ops = self._model(request)
        gpu = self._gpu(request)
        rows = [self._row(op, n, t, dims, gpu) for op in ops]
        columns = {k: [r[k] for r in rows] for k in self.model.feature_names}
        times = np.asarray(self.model.predict_columns(columns)["time_s"], dtype=np.float64)
        is_emb = np.array([op == rf.EMBEDDING for op in ops])
        layer = float(times[~is_emb].sum())
        emb = float(times[is_emb].sum())
        return {"time_s": emb + layers * layer, "layer_s": layer, "embedding_s": emb}

    def observe(self, request: Mapping[str, Any], **measured: Any) -> None:
        """Accepts the measured `time_s` of a request and ignores it: the latency model is
        stateless (documented in the card's session.observe_fields)."""
        _request(request)
        unknown = sorted(set(measured) - {"time_s"})
        if unknown:
            raise FeatureError(
                f"A latency session observes only 'time_s' (seconds); got {', '.join(unknown)}."
            )
        if "time_s" in measured:
            seconds = number(measured, "time_s", "measured seconds of the request, > 0")
            if seconds == 0:
                raise FeatureError("Observed 'time_s' is 0: a measured time is > 0 seconds.")


def _request(request: Any) -> Mapping[str, Any]:
    if not isinstance(request, Mapping):
        raise FeatureError(
            f"A request must be a mapping of field names to values, got {type(request).__name__}."
        )
    return request


def _whole(request: Mapping[str, Any], name: str, what: str, default: float | None = None) -> float:
    value = number(request, name, what, minimum=1.0, required=default is None)
    if value is None:
        assert default is not None
        return default
    if value != math.floor(value):
        raise FeatureError(f"Request field {name!r} is {value}, not a whole number: {what}.")
    return value


def _operators(ops: Any) -> tuple[str, ...]:
    if isinstance(ops, str) or not isinstance(ops, Sequence):
        raise FeatureError(
            f"Request field 'operators' must be a list of operator names, got {ops!r:.60}."
        )
    unknown = [o for o in ops if o not in rf.OPERATORS]
    if unknown:
        raise FeatureError(
            f"Request field 'operators' holds unknown operator(s) {unknown!r:.80}; known: "
            f"{', '.join(rf.OPERATORS)}."
        )
    return tuple(ops)


def _card_dims(entry: Mapping[str, Any]) -> Dims:
    q, kv, h, f = (float(entry[k]) for k in rf.DIMS[:4])
    return q, kv, h, f, 1.0 if entry.get("use_gated_mlp", True) else 0.0
