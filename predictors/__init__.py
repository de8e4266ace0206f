"""Predictors for schedulers: output length, batch latency, VM interference.

    from predictors import load
    m = load("models/output-length")
    m.predict([{"input_tokens": 812, "service": "conversation", ...}])  # (N, 3): p10, p50, p90

Training and evaluation: `predictors.api.train` / `predictors.api.evaluate`. Every model is
exported as model.onnx (runs in onnxruntime without this package) plus a model.json card.
"""

from __future__ import annotations

from predictors.common import Predictor, TrainResult, load

__all__ = ["Predictor", "TrainResult", "load"]
