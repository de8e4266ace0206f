"""What can go wrong when a model is loaded or asked for a prediction.

Data errors exit 1 in the CLI, usage errors 2 (`ingest.errors`, standard library only)."""

from __future__ import annotations

from ingest.errors import DataError, UsageError


class PredictorDataError(DataError):
    """The lake holds no usable rows for a predictor, or a model folder is unusable."""


class PredictorUsageError(UsageError):
    """A predictor was called with an unknown kind, option or feature."""


class ModelCardError(PredictorDataError):
    """model.json is not valid JSON, or lacks a key `load` needs, or has a wrong type there."""


class ModelFileMismatch(PredictorDataError):
    """model.onnx is missing, or is not the file its card records (by sha256)."""


class FeatureError(PredictorDataError):
    """A request or a row lacks a value the model needs, or holds one it cannot use (NaN,
    a negative count, text where a number belongs). The message names the field."""
