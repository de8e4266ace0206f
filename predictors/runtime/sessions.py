"""Which session class serves which model kind, imported only when asked for."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from predictors.runtime.errors import PredictorUsageError

SESSIONS = {
    "output-length": "predictors.runtime.output_length:OutputLengthSession",
    "latency": "predictors.runtime.latency:LatencySession",
    "interference": "predictors.runtime.interference:InterferenceSession",
}


def session_class(kind: str) -> Any:
    if kind not in SESSIONS:
        raise PredictorUsageError(
            f"No session for model kind {kind!r}; kinds with sessions: {', '.join(SESSIONS)}."
        )
    module, name = SESSIONS[kind].split(":")
    return getattr(import_module(module), name)
