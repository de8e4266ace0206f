"""What every feature session shares: the request checks, the limits, predict = features,
then the model, then the arrival is remembered.

A session is what a scheduler keeps beside a model: `predict(request)` when a request (or a
run) arrives, `observe(request, **measured)` when it learns the outcome. The state a session
keeps per stream is capped (`LIMITS`, overridable per session) and the least recently used
entry is evicted when a cap is reached; the card's "session" section says what each holds.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from predictors.runtime.errors import FeatureError, PredictorUsageError

FLOAT32_MAX = 3.4028234663852886e38  # the graph's inputs are float32
K = TypeVar("K")
V = TypeVar("V")


class Session:
    """Base of the per-kind sessions. Subclasses define LIMITS, `features` (pure) and
    `_arrived` (the state change of an arrival) and, when they learn outcomes, `observe`."""

    LIMITS: ClassVar[dict[str, int]] = {}

    def __init__(self, model: Any, **limits: Any) -> None:
        unknown = sorted(set(limits) - set(self.LIMITS))
        if unknown:
            raise PredictorUsageError(
                f"Unknown session limit(s) {', '.join(unknown)} for a {model.kind} model. "
                f"Limits: {', '.join(f'{k}={v}' for k, v in self.LIMITS.items()) or 'none'}."
            )
        for name, value in limits.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PredictorUsageError(
                    f"Session limit {name} must be a whole number >= 1, got {value!r}."
                )
        self.model = model
        self.limits: dict[str, int] = {**self.LIMITS, **limits}

    def features(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The model's features for `request`, from the state; changes nothing."""
        raise NotImplementedError

    def _arrived(self, request: Mapping[str, Any], features: Mapping[str, Any]) -> None:
        """Remember the arrival (counts, positions) once its prediction succeeded."""

    def predict(self, request: Mapping[str, Any]) -> dict[str, float]:
        """Features of `request`, the model on them, then the arrival is remembered: the
        outputs by name, in the card's units. A bad request raises FeatureError and leaves
        the state as it was."""
        feats = self.features(_mapping(request))
        out: dict[str, float] = self.model.predict_one(feats)
        self._arrived(request, feats)
        return out

    def observe(self, request: Mapping[str, Any], **measured: Any) -> None:
        """What the scheduler learned about `request` later. Sessions without outcomes
        accept nothing."""
        if measured:
            raise PredictorUsageError(
                f"A {self.model.kind} session learns nothing from outcomes; got "
                f"{', '.join(measured)}."
            )

    def state_size(self) -> dict[str, int]:
        """Entries held per kind of state."""
        return {}


def _mapping(request: Any) -> Mapping[str, Any]:
    if not isinstance(request, Mapping):
        raise FeatureError(
            f"A request must be a mapping of field names to values, got {type(request).__name__}."
        )
    return request


# --- request fields -----------------------------------------------------------------------


def number(
    request: Mapping[str, Any],
    name: str,
    what: str,
    *,
    minimum: float | None = 0.0,
    required: bool = True,
    whole: bool = False,
) -> float | None:
    """A finite number field (int or float, or a numpy scalar), at least `minimum`, within
    what the model's float32 inputs hold, whole if asked; None when absent and not required.
    FeatureError names the field, the value and what is expected."""
    value = request.get(name)
    if value is None:
        if required:
            raise FeatureError(f"Request field {name!r} is missing: {what}.")
        return None
    if isinstance(value, bool) or (not isinstance(value, int | float) and not _numpy_number(value)):
        raise FeatureError(f"Request field {name!r} must be a number, got {value!r:.60}: {what}.")
    x = float(value)
    if not math.isfinite(x):
        raise FeatureError(f"Request field {name!r} is {x}: {what}.")
    if abs(x) > FLOAT32_MAX:
        raise FeatureError(
            f"Request field {name!r} is {x:g}, beyond what a float32 model input holds "
            f"(±{FLOAT32_MAX:.3g}): {what}."
        )
    if minimum is not None and x < minimum:
        raise FeatureError(f"Request field {name!r} is {x}, below {minimum:g}: {what}.")
    if whole and x != int(x):
        raise FeatureError(f"Request field {name!r} is {x}, not a whole number: {what}.")
    return x


def _numpy_number(value: Any) -> bool:
    # numpy scalars (not arrays) without importing numpy here: they carry dtype, item, ndim 0
    return (
        hasattr(value, "dtype")
        and hasattr(value, "item")
        and getattr(value, "ndim", None) == 0
        and value.dtype.kind in "iuf"
    )


def text(request: Mapping[str, Any], name: str, what: str) -> str | None:
    """An optional text field; None when absent."""
    value = request.get(name)
    if value is None or isinstance(value, str):
        return value
    raise FeatureError(f"Request field {name!r} must be text, got {value!r:.60}: {what}.")


TIME_FIELDS = "'ts' (seconds, a number or a timezone-aware datetime) or 'ts_us' (whole µs)"


def timestamp_us(request: Mapping[str, Any], required: bool = True) -> int | None:
    """Arrival time in whole µs from 'ts_us' (int) or 'ts' (seconds since the epoch or since
    the trace's start, or an aware datetime)."""
    us = request.get("ts_us")
    if us is not None:
        if isinstance(us, bool) or not (isinstance(us, int) or _numpy_int(us)):
            raise FeatureError(f"Request field 'ts_us' must be whole µs, got {us!r:.60}.")
        return int(us)
    ts = request.get("ts")
    if ts is None:
        if required:
            raise FeatureError(f"Request time is missing: give {TIME_FIELDS}.")
        return None
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            raise FeatureError(
                f"Request field 'ts' is a naive datetime ({ts}); give it a timezone "
                "(datetime.now(timezone.utc)), or seconds."
            )
        return (
            (ts.toordinal() - 719163) * 86_400_000_000
            + (ts.hour * 3600 + ts.minute * 60 + ts.second) * 1_000_000
            + ts.microsecond
            - int(ts.utcoffset().total_seconds() * 1_000_000)  # type: ignore[union-attr]
        )
    seconds = number(request, "ts", TIME_FIELDS, minimum=None)
    assert seconds is not None
    return round(seconds * 1_000_000)


def _numpy_int(value: Any) -> bool:
    return hasattr(value, "dtype") and hasattr(value, "item") and value.dtype.kind in "iu"


class LRU(OrderedDict[K, V], Generic[K, V]):
    """A dict that keeps at most `cap` entries, evicting the least recently used; `touch`
    marks an entry used. `evicted` counts what was dropped (state_size shows it)."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap
        self.evicted = 0

    def touch(self, key: K) -> None:
        self.move_to_end(key)

    def put(self, key: K, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.cap:
            self.popitem(last=False)
            self.evicted += 1
