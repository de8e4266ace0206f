"""Output-length features computed online, one request at a time, exactly as training computes
them in batch from the lake (predictors/output_length.py; `traces predict --online` checks
that the two agree on every real LLM trace).

A scheduler calls `predict(request)` when a request arrives and `observe(request,
output_tokens=N)` when it finishes. A finished request's length becomes visible to the
history features only for requests arriving more than `history_lag_s` (from the card) after
it arrived: training could not know a length sooner, so neither may the session, whenever
`observe` is called. Requests are expected in arrival order; the state kept for history is
pruned at the latest arrival seen, so a request much older than that sees less history.

State, each capped (least recently used evicted; `state_size()` counts entries and
evictions): streams (service, tenant), per stream the prompt lengths seen (count and the last
observed outputs for each), sessions (position counter), KV block hashes (prefix reuse), and
per stream and per length the observed outputs not yet older than the window.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Mapping
from typing import Any, ClassVar

from predictors.runtime.errors import FeatureError, PredictorUsageError
from predictors.runtime.session import LRU, Session, number, text, timestamp_us

HISTORY_WINDOW = 64
REPEAT_WINDOW = 16
P90 = 0.9
CLOCKS = ("absolute", "relative", "none")

SESSION_CARD: dict[str, Any] = {
    "request_fields": {
        "ts or ts_us": "arrival time: 'ts' in seconds (since the epoch for a model used "
        "with clock='absolute', since the trace start for 'relative') or a timezone-aware "
        "datetime, or 'ts_us' in whole µs; required unless clock='none'",
        "input_tokens": "prompt tokens, a whole number >= 0; required",
        "service": "model or service name; optional (None is 'unknown')",
        "tenant": "user or application; optional; (service, tenant) is the stream",
        "kind": "request kind (conversation, api, code, ...); optional",
        "session": "conversation id; optional",
        "hash_ids": "list of KV block hashes of the prompt (Mooncake); optional",
        "hash_block_tokens": "tokens per block behind hash_ids; optional (0 when absent)",
    },
    "observe_fields": {
        "output_tokens": "tokens the request generated, a whole number >= 0, given with the "
        "same request mapping (its stream, prompt length and arrival time)"
    },
    "outputs": "p10, p50, p90: quantiles of the tokens the request will generate",
    "time": "an observed output is visible to a request arriving at t only if it arrived "
    "strictly before t - history_lag_s (options.history_lag_s); ties in arrival time keep "
    "the order of observe calls",
    "clock": "session(clock='absolute') for wall-clock time (hour_of_day is used), "
    "'relative' for time since a trace start, 'none' for untimed replays (history is NaN)",
    "state": "per session object; caps (session(**limits)): streams, lengths_per_stream, "
    "outputs_per_stream, sessions, blocks; the least recently used entry is evicted at a "
    "cap, after which the features differ from batch ones for what was evicted",
}


class _Outputs:
    """Observed outputs of one stream (or one prompt length of it), in arrival order:
    (arrival µs, observe order, tokens)."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[tuple[int, int, float]] = []

    def last_before(self, cut_us: int, window: int) -> list[float]:
        """Tokens of the last `window` outputs that arrived strictly before cut_us."""
        k = bisect_left(self.items, (cut_us,))
        return [item[2] for item in self.items[max(0, k - window) : k]]

    def add(self, item: tuple[int, int, float], cut_us: int, window: int, cap: int) -> None:
        insort(self.items, item)
        # Older than the window at the latest arrival: no later request can see it.
        k = bisect_left(self.items, (cut_us,))
        drop = max(0, k - window, len(self.items) - cap)
        if drop:
            del self.items[:drop]


class _Length:
    __slots__ = ("arrivals", "outputs")

    def __init__(self) -> None:
        self.arrivals = 0
        self.outputs = _Outputs()


class _Stream:
    __slots__ = ("history", "lengths")

    def __init__(self, cap: int) -> None:
        self.history = _Outputs()
        self.lengths: LRU[int, _Length] = LRU(cap)

    def length(self, tokens: int) -> _Length:
        entry = self.lengths.get(tokens)
        if entry is None:
            entry = _Length()
            self.lengths.put(tokens, entry)
        else:
            self.lengths.touch(tokens)
        return entry


class _Request:
    __slots__ = (
        "block_tokens",
        "blocks",
        "input_tokens",
        "kind",
        "service",
        "session",
        "stream",
        "ts_us",
    )  # fmt: skip

    def __init__(self, request: Mapping[str, Any], timed: bool) -> None:
        tokens = number(request, "input_tokens", "prompt tokens, a whole number >= 0", whole=True)
        assert tokens is not None
        self.input_tokens = int(tokens)
        self.service = text(request, "service", "model or service name")
        tenant = text(request, "tenant", "user or application")
        self.kind = text(request, "kind", "request kind")
        self.session = text(request, "session", "conversation id")
        self.stream = (self.service or "") + "\x1f" + (tenant or "")
        self.ts_us = timestamp_us(request, required=timed)
        blocks = request.get("hash_ids")
        if blocks is not None and (
            not isinstance(blocks, list | tuple)
            or not all(isinstance(h, int) and not isinstance(h, bool) for h in blocks)
        ):
            raise FeatureError(
                f"Request field 'hash_ids' must be a list of whole numbers, got {blocks!r:.60}."
            )
        self.blocks = None if blocks is None else list(blocks)
        size = number(  # absent: 0, as in training
            request, "hash_block_tokens", "tokens per KV block", required=False, whole=True
        )
        self.block_tokens = int(size) if size else 0


class OutputLengthSession(Session):
    """Features of the output-length model from a stream of requests (see module doc)."""

    LIMITS: ClassVar[dict[str, int]] = {
        "streams": 1024,
        "lengths_per_stream": 16_384,
        "outputs_per_stream": 65_536,
        "sessions": 262_144,
        "blocks": 1_048_576,
    }

    def __init__(self, model: Any, clock: str = "absolute", **limits: Any) -> None:
        super().__init__(model, **limits)
        if clock not in CLOCKS:
            raise PredictorUsageError(f"clock must be one of {', '.join(CLOCKS)}, got {clock!r}.")
        self.clock = clock
        lag = model.card.get("options", {}).get("history_lag_s", 60.0)
        self.lag_us = int(lag * 1e6)
        self.streams: LRU[str, _Stream] = LRU(self.limits["streams"])
        self.sessions: LRU[str, int] = LRU(self.limits["sessions"])
        self.blocks: LRU[int, None] = LRU(self.limits["blocks"])
        self.latest_us: int | None = None
        self.observed = 0

    # --- the three calls ------------------------------------------------------------------

    def features(self, request: Mapping[str, Any]) -> dict[str, Any]:
        return self._features(self._parse(request))

    def predict(self, request: Mapping[str, Any]) -> dict[str, float]:
        r = self._parse(request)
        out: dict[str, float] = self.model.predict_one(self._features(r))
        self._arrive(r)
        return out

    def observe(self, request: Mapping[str, Any], **measured: Any) -> None:
        unknown = sorted(set(measured) - {"output_tokens"})
        if unknown or "output_tokens" not in measured:
            raise PredictorUsageError(
                "observe(request, output_tokens=N) takes the generated tokens only; got "
                f"{', '.join(measured) or 'nothing'}."
            )
        tokens = number(
            measured, "output_tokens", "generated tokens, a whole number >= 0", whole=True
        )
        assert tokens is not None
        r = self._parse(request)
        if r.ts_us is None:
            return  # untimed: nothing says when it finished, so no history is kept
        self._saw(r.ts_us)
        cut = self._cut()
        self.observed += 1
        item = (r.ts_us, self.observed, tokens)
        cap = self.limits["outputs_per_stream"]
        stream = self._stream(r.stream)
        stream.history.add(item, cut, HISTORY_WINDOW, cap)
        stream.length(r.input_tokens).outputs.add(item, cut, REPEAT_WINDOW, cap)

    def state_size(self) -> dict[str, int]:
        streams = list(self.streams.values())
        return {
            "streams": len(streams),
            "lengths": sum(len(s.lengths) for s in streams),
            "outputs": sum(
                len(s.history.items) + sum(len(x.outputs.items) for x in s.lengths.values())
                for s in streams
            ),
            "sessions": len(self.sessions),
            "blocks": len(self.blocks),
            "evicted_streams": self.streams.evicted,
            "evicted_lengths": sum(s.lengths.evicted for s in streams),
            "evicted_sessions": self.sessions.evicted,
            "evicted_blocks": self.blocks.evicted,
        }

    # --- features -------------------------------------------------------------------------

    def _parse(self, request: Mapping[str, Any]) -> _Request:
        if not isinstance(request, Mapping):
            raise FeatureError(
                "A request must be a mapping of field names to values, got "
                f"{type(request).__name__}."
            )
        return _Request(request, timed=self.clock != "none")

    def _features(self, r: _Request) -> dict[str, Any]:
        stream = self.streams.get(r.stream)
        length = stream.lengths.get(r.input_tokens) if stream is not None else None
        hour = None
        if self.clock == "absolute" and r.ts_us is not None:
            hour = (r.ts_us // 3_600_000_000) % 24 + ((r.ts_us // 60_000_000) % 60) / 60.0
        position = None
        if r.session is not None:
            position = float(self.sessions.get(r.session, 0) + 1)
        reused = None
        if r.blocks is not None:
            k = 0
            for h in r.blocks:
                if h not in self.blocks:
                    break
                k += 1
            reused = float(min(k * r.block_tokens, r.input_tokens))
        median = p90 = repeat = None
        if r.ts_us is not None:
            cut = r.ts_us - self.lag_us
            if stream is not None:
                recent = sorted(stream.history.last_before(cut, HISTORY_WINDOW))
                if recent:
                    median = _median(recent)
                    p90 = recent[math.floor((len(recent) - 1) * P90 + 0.5)]
            if length is not None:
                same = sorted(length.outputs.last_before(cut, REPEAT_WINDOW))
                repeat = _median(same) if same else None
        return {
            "input_tokens": float(r.input_tokens),
            "service": r.service,
            "kind": r.kind,
            "hour_of_day": hour,
            "session_position": position,
            "prefix_reused_tokens": reused,
            "input_repeat_count": float(length.arrivals if length is not None else 0),
            "repeat_output_median": repeat,
            "history_output_median": median,
            "history_output_p90": p90,
        }

    def _arrive(self, r: _Request) -> None:
        if r.ts_us is not None:
            self._saw(r.ts_us)
        self._stream(r.stream).length(r.input_tokens).arrivals += 1
        if r.session is not None:
            self.sessions.put(r.session, self.sessions.get(r.session, 0) + 1)
        if r.blocks is not None:
            for h in r.blocks:
                self.blocks.put(h, None)

    def _stream(self, key: str) -> _Stream:
        stream = self.streams.get(key)
        if stream is None:
            stream = _Stream(self.limits["lengths_per_stream"])
            self.streams.put(key, stream)
        else:
            self.streams.touch(key)
        return stream

    def _saw(self, ts_us: int) -> None:
        if self.latest_us is None or ts_us > self.latest_us:
            self.latest_us = ts_us

    def _cut(self) -> int:
        assert self.latest_us is not None
        return self.latest_us - self.lag_us


def _median(sorted_values: list[float]) -> float:
    n = len(sorted_values)
    mid = n // 2
    if n % 2:
        return sorted_values[mid]
    return (sorted_values[mid - 1] + sorted_values[mid]) / 2.0
