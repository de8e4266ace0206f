"""Predictors for schedulers: output length, batch latency, VM interference.

    from predictors import load
    model = load("models/output-length")           # light: numpy + onnxruntime only
    session = model.session()                      # features from the request stream
    session.predict({"ts": 1700000000.0, "input_tokens": 812, "service": "chat"})
    # {"p10": ..., "p50": ..., "p90": ...} in tokens

Training and evaluation: `predictors.api.train` / `predictors.api.evaluate`. Every model is
exported as model.onnx (runs in onnxruntime without this package) plus a model.json card.
`Predictor` and `TrainResult` (which need polars) are imported only when asked for.
"""

from __future__ import annotations

from typing import Any

from predictors.runtime import Model, load

__all__ = ["Model", "Predictor", "TrainResult", "load"]


def __getattr__(name: str) -> Any:
    if name in ("Predictor", "TrainResult"):
        from predictors import common

        return getattr(common, name)
    raise AttributeError(f"module 'predictors' has no attribute {name!r}")
