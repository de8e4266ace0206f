"""A generated workload in memory, before a format writes it: one class per shape.

Times are float seconds since the workload's start, `origin_us` (the source trace's first
arrival, µs since 1970; relative traces start at 1970-01-01, as in the lake). Categorical
columns are integer codes into a list of names, so ten million requests stay a few arrays of
numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from generate.contents import PrefixPlan


@dataclass
class RequestWorkload:
    """LLM requests or function invocations, one element per request, in arrival order."""

    t_s: np.ndarray  # float64, sorted
    origin_us: int
    time_origin: str  # absolute | relative
    service: np.ndarray  # int32 codes into `services`
    services: list[str | None]
    kind: np.ndarray  # int32 codes into `kinds`
    kinds: list[str | None]
    status: np.ndarray  # int32 codes into `statuses`
    statuses: list[str | None]
    input_tokens: np.ndarray | None = None  # int64; None when the source has no tokens
    output_tokens: np.ndarray | None = None
    duration_s: np.ndarray | None = None  # float64, NaN where unknown
    session: np.ndarray | None = None  # int64 session number, -1 for none
    prefix: PrefixPlan | None = None  # prefix blocks (mooncake's hash_ids), drawn on demand
    tenants: dict[str | None, str | None] = field(default_factory=dict)  # service -> tenant
    span_s: float = 0.0  # the workload's duration (s): arrivals lie in [0, span_s)
    kept: list[int] | None = None  # codes of the services the workload covers (None: all)
    notes: list[str] = field(default_factory=list)  # a writer's word on what it wrote

    def __len__(self) -> int:
        return len(self.t_s)

    @property
    def has_tokens(self) -> bool:
        return self.input_tokens is not None and self.output_tokens is not None

    def chunks(self, size: int) -> Iterator[slice]:
        for start in range(0, len(self), size):
            yield slice(start, min(start + size, len(self)))


@dataclass
class JobWorkload:
    """Batch jobs in submission order, with the fields an SWF log has (-1 = unknown)."""

    t_s: np.ndarray  # float64 submission times, sorted
    origin_us: int
    time_origin: str
    run_s: np.ndarray  # float64, NaN where unknown
    procs: np.ndarray  # int64 processors, -1 where unknown
    req_time_s: np.ndarray  # float64, NaN where unknown
    req_mem_kb: np.ndarray  # int64 KB per processor, -1 where unknown
    status: np.ndarray  # int64 SWF status code (1 ok, 0 failed, 5 cancelled, -1 unknown, ...)
    user: np.ndarray  # int64 user number, -1 where unknown
    group: np.ndarray  # int64
    executable: np.ndarray  # int64
    queue: np.ndarray  # int64
    partition: np.ndarray  # int64
    capacity: dict[str, float] = field(default_factory=dict)  # cpus, nodes
    computer: str | None = None
    notes: list[str] = field(default_factory=list)  # said in the header and the result

    def __len__(self) -> int:
        return len(self.t_s)


@dataclass
class InvocationWorkload:
    """Invocations per function and minute (sparse: only minutes with invocations).

    `first_minute` is the minute (since 1970) the workload starts in and `minutes` how many it
    covers; `minute` holds offsets from `first_minute`."""

    owners: list[str]
    apps: list[str]
    functions: list[str]
    triggers: list[str]
    fn: np.ndarray  # int64 function index, sorted with `minute`
    minute: np.ndarray  # int64 minute offset
    n: np.ndarray  # int64 invocations
    first_minute: int
    minutes: int
    # the source's published per-function statistics, in the columns of its release
    # (generate/queries/source_function_durations.sql, source_function_memory.sql); None: none
    durations: pl.DataFrame | None = None
    memory: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)  # a writer's word on what it wrote

    def __len__(self) -> int:
        """Invocations in all."""
        return int(self.n.sum())
