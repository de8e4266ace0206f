"""The light runtime a scheduler embeds: load a model folder, check it against its card, run
it with onnxruntime, and keep a feature session per request stream. Imports only numpy,
onnxruntime and the standard library.

    from predictors.runtime import load
    session = load("models/output-length").session()
    session.predict({"ts": 1700000000.0, "input_tokens": 812, "service": "chat"})
    session.observe({"ts": 1700000000.0, "input_tokens": 812, "service": "chat"},
                    output_tokens=240)
"""

from __future__ import annotations

from predictors.runtime.errors import (
    FeatureError,
    ModelCardError,
    ModelFileMismatch,
    PredictorDataError,
    PredictorUsageError,
)
from predictors.runtime.model import Model, load
from predictors.runtime.session import Session

__all__ = [
    "FeatureError",
    "Model",
    "ModelCardError",
    "ModelFileMismatch",
    "PredictorDataError",
    "PredictorUsageError",
    "Session",
    "load",
]
