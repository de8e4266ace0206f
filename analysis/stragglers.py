"""Stragglers in distributed training: workers slower than their peers, iteration by iteration.

The PAI 2020 mini-batch release (Weng et al., NSDI'22; AntMan, OSDI'20) records each worker's
mini-batch time per iteration for jobs whose workers share GPUs (`measurements`: subject
`<job>/<worker>`, run = iteration, no clock), and, for 100 other jobs, the published coefficient
of variation of the workers' times per iteration (`summaries`, stat `cv`). A synchronous
iteration waits for its slowest worker, so its users ask how often a worker straggles, how much
iteration time that costs, and whether the same workers straggle every time.

Definitions (SQL in analysis/queries/stragglers_*.sql): a worker straggles in an iteration when
its time exceeds FACTOR x the iteration's median worker; the time lost is the slowest worker
minus the median, over the slowest, summed over iterations; a persistent straggler straggles in
at least PERSISTENT of its iterations. Times are normalized in the release (0-1000), so only
ratios are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from analysis.db import LakeDB

FACTOR = 1.2
PERSISTENT = 0.5
# The published CoV of an iteration above this is a visibly uneven iteration.
HIGH_CV = 0.2


@dataclass(frozen=True)
class JobStragglers:
    """One job with per-worker times. Shares are fractions; ratios are of normalized times."""

    job: str
    workers: int
    iterations: int
    partial_iterations: int  # iterations where fewer workers reported than the job has
    worker_iterations: int  # one worker's time in one iteration
    straggler_share: float  # straggling worker-iterations / worker-iterations
    iterations_with_straggler: float  # share of iterations with at least one straggler
    slowest_over_median: float  # mean over iterations of slowest / median worker
    lost_share: float  # sum(slowest - median) / sum(slowest): iteration time lost to them
    cv_p50: float | None  # median over iterations of the workers' CV (population std / mean)
    cv_p90: float | None
    persistent: tuple[str, ...]  # workers straggling in at least PERSISTENT of their iterations


@dataclass(frozen=True)
class StragglersResult:
    """Per-worker jobs, and the release's published per-iteration CoV table."""

    trace: str
    factor: float
    persistent_share: float
    jobs: tuple[JobStragglers, ...]
    published_jobs: int  # jobs in the published CoV table
    published_iterations: int
    published_cv_p50: float | None  # pooled over every published job and iteration
    published_cv_p90: float | None
    published_high_jobs: int  # published jobs whose median CoV exceeds HIGH_CV
    workers: pl.DataFrame  # job, worker, iterations, straggling, mean_over_median
    published: pl.DataFrame  # grp (job), n, mean, p50, p90 of the published CoV


def _opt(v: object) -> float | None:
    return None if v is None else float(v)  # type: ignore[arg-type]


def compute(db: LakeDB, trace: str) -> StragglersResult | None:
    """Stragglers of a trace's per-worker iterations; None when it has none and no CoV table."""
    if not db.has(trace, "measurements") and not db.has(trace, "summaries"):
        return None
    jobs = db.query_rounded("stragglers_jobs", trace=trace, factor=FACTOR)
    workers = db.query_rounded("stragglers_workers", trace=trace, factor=FACTOR)
    # CVs the query computes are rounded before their quantiles, so that both engines agree to
    # the last digit; the published ones are values of the table, quantiled in SQL.
    per_iteration = db.query_rounded("stragglers_iterations", trace=trace)
    measured = {
        str(job): dict(
            zip(("p50", "p90"), np.quantile(grp["cv"].to_numpy(), (0.5, 0.9)), strict=True)
        )
        for (job,), grp in per_iteration.group_by("job", maintain_order=True)
    }
    cv = db.quantiles("stragglers_cv_values", (0.5, 0.9), trace=trace)
    published = cv.filter((pl.col("part") == "published") & (pl.col("grp") != "*"))
    pooled = cv.filter((pl.col("part") == "published") & (pl.col("grp") == "*"))
    if jobs.is_empty() and published.is_empty():
        return None
    out = []
    for r in jobs.iter_rows(named=True):
        w = workers.filter(pl.col("job") == r["job"])
        steady = w.filter(pl.col("straggling") >= PERSISTENT * pl.col("iterations"))
        q = measured.get(r["job"], {})
        out.append(
            JobStragglers(
                job=r["job"],
                workers=int(r["workers"]),
                iterations=int(r["iterations"]),
                partial_iterations=int(r["partial_iterations"]),
                worker_iterations=int(r["worker_iterations"]),
                straggler_share=int(r["stragglers"]) / int(r["worker_iterations"]),
                iterations_with_straggler=int(r["iterations_with_straggler"])
                / int(r["iterations"]),
                slowest_over_median=float(r["slowest_over_median"]),
                lost_share=float(r["lost_share"]),
                cv_p50=_opt(q.get("p50")),
                cv_p90=_opt(q.get("p90")),
                persistent=tuple(steady["worker"].sort().to_list()),
            )
        )
    return StragglersResult(
        trace=trace,
        factor=FACTOR,
        persistent_share=PERSISTENT,
        jobs=tuple(out),
        published_jobs=published.height,
        published_iterations=int(published["n"].sum()) if published.height else 0,
        published_cv_p50=_opt(pooled["p50"][0]) if pooled.height else None,
        published_cv_p90=_opt(pooled["p90"][0]) if pooled.height else None,
        published_high_jobs=int((published["p50"] > HIGH_CV).sum()),
        workers=workers,
        published=published.select("grp", "n", "mean", "p50", "p90"),
    )
