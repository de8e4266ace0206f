"""What a generator reads from the lake: one trace's arrivals and the contents to resample.

Every query lives in generate/queries/*.sql (a file may include a `_fragment.sql` by writing its
name in double braces, as analysis/queries do). Rows come back in a fixed order, so row i is
the same row on every run and a seed gives the same workload. Arrival times are read whole
(8 bytes a request); the pools of contents are thinned to about `POOL_MAX` rows by a seeded
hash, which keeps memory bounded on traces of tens of millions of requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from analysis.db import LakeDB

QUERIES = Path(__file__).resolve().parent / "queries"
POOL_MAX = 2_000_000  # rows (or sessions) of a content pool; a larger trace is thinned to this
_INCLUDE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@cache
def query_text(name: str) -> str:
    """The SQL of generate/queries/<name>.sql with `{{_fragment}}` includes expanded."""
    path = QUERIES / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"No query {name!r} in {QUERIES}")
    return _INCLUDE.sub(lambda m: query_text(m.group(1)).rstrip(), path.read_text())


def query(db: LakeDB, name: str, **params: Any) -> pl.DataFrame:
    return db.sql(query_text(name), **params)


def _thinning(rows: int, seed: int, keep: int = POOL_MAX) -> dict[str, Any]:
    """Parameters of the seeded hash thinning in the pool queries: every row when there are at
    most `keep`, else about `keep` of them."""
    if rows <= keep:
        return {"every": True, "seed": seed, "per_million": 1_000_000}
    return {"every": False, "seed": seed, "per_million": max(1, keep * 1_000_000 // rows)}


# ---------------------------------------------------------------- what a trace holds


@dataclass(frozen=True)
class Profile:
    """What one trace holds, as far as generating from it goes."""

    trace: str
    requests: int  # timed requests
    with_tokens: int  # timed requests with both token counts
    with_hash_ids: int
    hash_block_tokens: int | None
    with_session: int
    with_duration: int
    jobs: int  # jobs with a submission time
    job_runs: int  # ... and a run time
    job_cpus: int  # ... and a processor count
    invocation_rows: int  # per-minute invocation counts (function-minutes with invocations)
    functions: int
    first_us: int | None  # first arrival (requests, jobs or invocation minute), µs since 1970
    last_us: int | None
    time_origin: str
    time_resolution_s: float | None

    @property
    def shape(self) -> str | None:
        """requests, jobs or invocations: the table a workload is generated from."""
        if self.requests:
            return "requests"
        if self.jobs:
            return "jobs"
        if self.invocation_rows:
            return "invocations"
        return None

    @property
    def span_s(self) -> float:
        if self.first_us is None or self.last_us is None:
            return 0.0
        return (self.last_us - self.first_us) / 1e6


def profile(db: LakeDB, trace: str) -> Profile:
    info = db.info(trace)
    req: dict[str, Any] = {}
    if db.has(trace, "requests"):
        req = query(db, "source_requests_profile", trace=trace).to_dicts()[0]
    job: dict[str, Any] = {}
    if db.has(trace, "jobs"):
        job = query(db, "source_jobs_profile", trace=trace).to_dicts()[0]
    inv: dict[str, Any] = {}
    if db.has(trace, "series"):
        inv = query(db, "source_invocations_profile", trace=trace).to_dicts()[0]
    first = last = None
    if req.get("timed"):
        first, last = req["first_us"], req["last_us"]
    elif job.get("timed"):
        first, last = job["first_us"], job["last_us"]
    elif inv.get("rows"):
        # A minute's count covers the whole minute: the span ends where the last minute ends.
        first = int(inv["first_minute"]) * 60_000_000
        last = (int(inv["last_minute"]) + 1) * 60_000_000
    hb = req.get("hash_block_tokens")
    return Profile(
        trace=trace,
        requests=int(req.get("timed") or 0),
        with_tokens=int(req.get("with_tokens") or 0),
        with_hash_ids=int(req.get("with_hash_ids") or 0),
        hash_block_tokens=int(hb) if hb is not None else None,
        with_session=int(req.get("with_session") or 0),
        with_duration=int(req.get("with_duration") or 0),
        jobs=int(job.get("timed") or 0),
        job_runs=int(job.get("with_run") or 0),
        job_cpus=int(job.get("with_cpus") or 0),
        invocation_rows=int(inv.get("rows") or 0),
        functions=int(inv.get("functions") or 0),
        first_us=int(first) if first is not None else None,
        last_us=int(last) if last is not None else None,
        time_origin=info.time_origin,
        time_resolution_s=info.time_resolution_s,
    )


# ---------------------------------------------------------------- requests


def services(db: LakeDB, trace: str) -> pl.DataFrame:
    """code, service, requests: busiest first (the codes every request query uses)."""
    return query(db, "source_services", trace=trace)


def request_arrivals(db: LakeDB, trace: str) -> tuple[np.ndarray, np.ndarray]:
    """(t_us int64, service code int32) of every timed request, in arrival order."""
    df = query(db, "source_request_arrivals", trace=trace)
    return df["t_us"].to_numpy().astype(np.int64), df["service"].to_numpy().astype(np.int32)


def request_pool(db: LakeDB, trace: str, rows: int, seed: int, need_tokens: bool) -> pl.DataFrame:
    """service, kind, input_tokens, output_tokens, duration_s, status of (about) POOL_MAX of the
    trace's timed requests (those with both token counts when `need_tokens`)."""
    return query(
        db, "source_request_pool", trace=trace, need_tokens=need_tokens, **_thinning(rows, seed)
    )


def request_prefix(db: LakeDB, trace: str) -> pl.DataFrame:
    """The pool with prefix reuse: blocks, reused (leading blocks held before) and back
    (requests since the last holder), every timed request in arrival order."""
    return query(db, "source_request_prefix", trace=trace)


def sessions(db: LakeDB, trace: str, rows: int, seed: int) -> pl.DataFrame:
    """Requests grouped into sessions (unit, start_us, offset_us, contents), sessions in order
    of their first arrival."""
    return query(db, "source_sessions", trace=trace, **_thinning(rows, seed))


def request_tenants(db: LakeDB, trace: str) -> dict[str | None, str | None]:
    """service -> the tenant most of its requests came from."""
    df = query(db, "source_request_tenants", trace=trace)
    return dict(zip(df["service"].to_list(), df["tenant"].to_list(), strict=True))


# ---------------------------------------------------------------- jobs and invocations


def jobs(db: LakeDB, trace: str) -> pl.DataFrame:
    return query(db, "source_jobs", trace=trace)


def capacity(db: LakeDB, trace: str) -> tuple[str | None, dict[str, float]]:
    """(machine name, metric -> size) from the trace's capacity summaries (SWF's MaxProcs and
    MaxNodes; several machines add up)."""
    if not db.has(trace, "summaries"):
        return None, {}
    df = query(db, "source_capacity", trace=trace)
    out: dict[str, float] = {}
    for metric, value in zip(df["metric"].to_list(), df["value"].to_list(), strict=True):
        out[metric] = out.get(metric, 0.0) + float(value)
    names = sorted({str(e) for e in df["entity"].to_list() if e is not None})
    return (", ".join(names) or None), out


def invocations(db: LakeDB, trace: str) -> pl.DataFrame:
    """tenant, service, entity, kind, minute (since 1970), n: function-minutes with
    invocations."""
    return query(db, "source_invocations", trace=trace)
