"""Score any two traces of a lake on the fidelity statistics (`traces compare-workloads A B`).

A is the reference, B the candidate: B's rows are the "generated" side of the table, so a
user can measure how far ServeGen's or BurstGPT's own generated output (ingested as a trace)
is from a real trace, with the same tolerances `traces generate --check` applies.

Arrivals come from the table the report's burstiness analysis reads (requests, jobs, or the
per-interval invocation counts of a counts-only trace, spread over their interval when
fitted), measured on the coarser of the two traces' effective clocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from analysis import burstiness as bs
from analysis.db import LakeDB
from generate.fidelity import (
    HASH_IDS,
    FidelityTable,
    arrival_fidelity,
    content_fidelity,
    fidelity_table,
)
from generate.source import query
from ingest.errors import DataError

FloatArray = NDArray[np.float64]


class NoArrivals(DataError):
    """A trace without timed arrivals: nothing to fit or compare arrivals on."""


@dataclass(frozen=True)
class TraceArrivals:
    """One trace's arrivals as a fidelity comparison (or a fit) sees them."""

    trace: str
    ts_s: FloatArray  # sorted, seconds from the first arrival
    span_s: float  # first arrival to last plus one tick, as the report
    resolution_s: float  # the effective clock: the declared one or a batch period
    counts_only: bool  # from per-interval counts: every arrival at its interval's start
    label: str  # where they come from, e.g. "requests.ts"


def _no_arrivals(db: LakeDB, trace: str) -> NoArrivals:
    info = db.info(trace)
    held = ", ".join(f"{t} ({n:,} rows)" for t, n in sorted(info.tables.items()) if n) or "nothing"
    if not info.has_time:
        why = "its timestamps are absent (the source records no arrival time)"
    else:
        why = (
            f"it has no request arrivals, job submissions or invocation counts, or fewer than "
            f"{bs.MIN_EVENTS}"
        )
    return NoArrivals(
        f"Trace {trace!r} has no arrivals to compare: {why}. It holds {held}. Pick a trace "
        "with requests, jobs or invocation counts (`traces info` lists them)."
    )


def trace_arrivals(db: LakeDB, trace: str, group: tuple[str, str] | None = None) -> TraceArrivals:
    """The arrivals of one trace (or one (dim, value) group of it); NoArrivals when it has
    none (UnknownTrace, a usage error, when the lake has no such trace)."""
    src = bs.event_source(db, trace)
    if src is None:
        raise _no_arrivals(db, trace)
    summary = bs.arrival_summary(db, trace, src, group)
    if summary is None or summary.events < bs.MIN_EVENTS:
        raise _no_arrivals(db, trace)
    first_us = round(summary.first_s * 1e6)
    params = src.params(trace, group)
    if src.counts_only:
        df = query(db, "compare_invocation_counts", first_us=first_us, **params)
        n = np.round(df["n"].to_numpy().astype(np.float64)).astype(np.int64)
        ts = np.repeat(df["t"].to_numpy().astype(np.float64), n)
    else:
        df = query(db, "compare_arrival_times", first_us=first_us, **params)
        ts = df["t"].to_numpy().astype(np.float64)
    return TraceArrivals(
        trace=trace,
        ts_s=ts,
        span_s=summary.span_s,
        resolution_s=summary.resolution_s,
        counts_only=src.counts_only,
        label=src.label,
    )


def trace_contents(db: LakeDB, trace: str) -> dict[str, FloatArray]:
    """Content columns of one trace for `content_fidelity`: token lengths (outputs of
    unfinished requests as NaN), durations and prefix block ids of requests, or run times and
    resources of jobs. Columns with no known value are left out."""
    out: dict[str, FloatArray] = {}
    if db.has(trace, "requests"):
        df = query(db, "compare_request_contents", trace=trace)
        hashes = query(db, "compare_hash_ids", trace=trace)
        if hashes.height:
            out[HASH_IDS] = hashes["h"].to_numpy()
    elif db.has(trace, "jobs"):
        df = query(db, "compare_job_contents", trace=trace)
    else:
        return out
    for col in df.columns:
        values = df[col].cast(float).fill_null(math.nan).to_numpy()
        if np.isfinite(values).any():
            out[col] = values
    return out


def compare_arrays(a: TraceArrivals, b: TraceArrivals) -> FidelityTable:
    """B's arrivals scored against A's (no contents)."""
    return fidelity_table(
        a.trace,
        b.trace,
        arrival_fidelity(
            a.ts_s, b.ts_s, a.span_s, b.span_s, resolution_s=max(a.resolution_s, b.resolution_s)
        ),
    )


def compare_workloads(lake: Path | str | LakeDB, a: str, b: str) -> FidelityTable:
    """Trace B scored against trace A of one lake: arrivals, then the content columns both
    have. UnknownTrace (exit 2) names the lake's traces; NoArrivals (exit 1) says why."""
    db = lake if isinstance(lake, LakeDB) else LakeDB(lake)
    try:
        for name in (a, b):
            db.info(name)
        arr_a, arr_b = trace_arrivals(db, a), trace_arrivals(db, b)
        clock = max(arr_a.resolution_s, arr_b.resolution_s)
        rows = arrival_fidelity(
            arr_a.ts_s, arr_b.ts_s, arr_a.span_s, arr_b.span_s, resolution_s=clock
        )
        contents = content_fidelity(trace_contents(db, a), trace_contents(db, b))
    finally:
        if not isinstance(lake, LakeDB):
            db.close()
    notes = [
        f"{t.trace}: {t.ts_s.size:,} arrivals from {t.label} over {t.span_s:,.0f} s, clock "
        f"{t.resolution_s:g} s" + (" (per-interval counts)" if t.counts_only else "")
        for t in (arr_a, arr_b)
    ]
    notes.append(f"both measured on a {clock:g} s clock")
    return fidelity_table(a, b, rows, contents, None, notes)
