"""Derived copies: traces in the lake that hold the same requests as another trace.

Public trace collections republish each other: Vidur's `splitwise_conv.csv` is the Azure LLM
2023 conversation trace converted to arrival seconds. Characterizing both as independent
workloads would count one workload twice, so the report names a copy as such. The test is on
content, never on names: two `requests` traces with the same number of rows are compared as
multisets of (input tokens, output tokens) and, when both are timed, of those plus the arrival
offset from each trace's first request, at the coarser of the two clocks
(analysis/queries/lineage_match.sql).

A trace is a derived copy of another when every row matches on tokens and, if both are timed,
at least `ARRIVAL_MATCH` of the rows also match on arrival offset (a conversion that rounds time
may move a few rows across a clock tick). The original is the trace whose time is closest to
the source: absolute time over relative, relative over none; two traces equal on that count are
reported as identical, without a direction.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.db import LakeDB

ARRIVAL_MATCH = 0.99
# How close each kind of time origin is to the publisher's own clock.
ORIGIN_RANK = {"absolute": 2, "relative": 1, "none": 0}


@dataclass(frozen=True)
class Match:
    """This trace against another with the same number of requests."""

    other: str
    rows: int  # requests in this trace
    same_tokens: int  # rows matching on (input tokens, output tokens)
    same_arrivals: int | None  # rows also matching on arrival offset; None if either is untimed
    resolution_s: float | None  # the clock the offsets were compared at (s)

    @property
    def identical(self) -> bool:
        """Same requests: every row on tokens, and ARRIVAL_MATCH of them on arrival offset."""
        if self.rows == 0 or self.same_tokens != self.rows:
            return False
        return self.same_arrivals is None or self.same_arrivals >= ARRIVAL_MATCH * self.rows


@dataclass(frozen=True)
class LineageResult:
    """Which traces of the lake hold this trace's requests."""

    trace: str
    copy_of: str | None  # the original this trace was derived from
    copies: tuple[str, ...]  # traces derived from this one
    identical_to: tuple[str, ...]  # same requests, no way to tell which came first
    matches: tuple[Match, ...]  # every comparison that found the same requests


def _timed(db: LakeDB, trace: str) -> bool:
    return db.info(trace).time_origin != "none"


def compare(db: LakeDB, trace: str, other: str) -> Match:
    """Match `trace`'s requests against `other`'s."""
    res = [db.info(t).time_resolution_s for t in (trace, other)]
    timed = _timed(db, trace) and _timed(db, other) and None not in res
    step = max(r for r in res if r is not None) if timed else 1.0
    row = db.query("lineage_match", a=trace, b=other, res_s=float(step)).row(0, named=True)
    return Match(
        other=other,
        rows=int(row["rows_a"]),
        same_tokens=int(row["same_tokens"]),
        same_arrivals=int(row["same_arrivals"]) if timed else None,
        resolution_s=float(step) if timed else None,
    )


def compute(db: LakeDB, trace: str) -> LineageResult | None:
    """The traces holding the same requests as `trace`; None when there are none."""
    if not db.has(trace, "requests"):
        return None
    n = db.info(trace).tables.get("requests", 0)
    candidates = [
        t
        for t in db.traces()
        if t != trace and db.has(t, "requests") and db.info(t).tables["requests"] == n
    ]
    matches = tuple(m for m in (compare(db, trace, t) for t in candidates) if m.identical)
    if not matches:
        return None
    mine = ORIGIN_RANK.get(db.info(trace).time_origin, 0)
    copy_of, copies, identical = None, [], []
    for m in matches:
        theirs = ORIGIN_RANK.get(db.info(m.other).time_origin, 0)
        if theirs > mine and copy_of is None:
            copy_of = m.other
        elif theirs < mine:
            copies.append(m.other)
        else:
            identical.append(m.other)
    return LineageResult(
        trace=trace,
        copy_of=copy_of,
        copies=tuple(copies),
        identical_to=tuple(identical),
        matches=matches,
    )
