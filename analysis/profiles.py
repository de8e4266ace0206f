"""GPU operator profiles: execution time against batch tokens and message size (Vidur, MLSys'24).

Vidur's profiles are measured call times of the operators of a transformer iteration (linear
projections, norms, activation, rotary embedding, residual add) for each GPU, model and
tensor-parallel degree, at batch sizes from 1 to 4,096 tokens, plus collective communication
(all-reduce, send/recv) against message size. A simulator or latency predictor needs to know how
time grows with tokens: flat while the GPU is memory-bound (small batches cost the same as one
token), then linear once compute-bound; which operators dominate; how noisy the timing is; and
how fast the interconnect is. SQL in analysis/queries/profiles_*.sql; times in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analysis.db import LakeDB

# A batch whose call time stays within FLAT times the one-token call is "almost free".
FLAT = 1.1


@dataclass(frozen=True)
class OperatorProfile:
    """One operator on one subject (GPU/org/model/tp degree). Times are median call times (s)."""

    subject: str
    sku: str | None  # the GPU
    operator: str
    points: int  # distinct token counts profiled
    tokens_min: int
    tokens_max: int
    t_at_min_s: float  # call time at tokens_min
    t_at_max_s: float  # call time at tokens_max
    flat_until_tokens: int | None  # largest batch within FLAT x the smallest batch's time
    s_per_token: float | None  # slope over the upper half of the token range (s per token)
    r2: float | None  # of a straight line through every point
    timing_cv: float | None  # mean std/mean of the repeated calls behind each point
    share_at_max: float | None  # of the subject's summed operator time at its largest batch


@dataclass(frozen=True)
class CollectiveProfile:
    """One collective on one node setup and worker count."""

    subject: str
    sku: str | None
    collective: str
    points: int
    size_min_bytes: int
    size_max_bytes: int
    t_at_min_s: float  # latency floor: time of the smallest message
    t_at_max_s: float
    gb_per_s_at_max: float | None  # largest message / its time (10^9 bytes per second)
    gb_per_s_slope: float | None  # 1 / slope over the upper half of the size range


@dataclass(frozen=True)
class ProfilesResult:
    """Every profiled operator and collective of one trace."""

    trace: str
    flat_factor: float
    subjects: int  # compute subjects (GPU/model/tp)
    operators: tuple[OperatorProfile, ...]
    collectives: tuple[CollectiveProfile, ...]
    curves: pl.DataFrame  # operator, tokens, t: every point of `curve_subject`
    curve_subject: str | None  # the subject drawn in the time-against-tokens figure

    def operator(self, subject: str, operator: str) -> OperatorProfile:
        for o in self.operators:
            if o.subject == subject and o.operator == operator:
                return o
        raise KeyError(f"{self.trace} has no operator {operator!r} on {subject!r}")


def _opt(v: object) -> float | None:
    return None if v is None else float(v)  # type: ignore[arg-type]


def compute(db: LakeDB, trace: str) -> ProfilesResult | None:
    """Operator and collective profiles of a trace's measurements; None when it has neither."""
    if not db.has(trace, "measurements"):
        return None
    ops = db.query_rounded("profiles_operators", trace=trace, flat=FLAT)
    coll = db.query_rounded("profiles_collectives", trace=trace)
    if ops.is_empty() and coll.is_empty():
        return None
    totals = ops.group_by("subject").agg(pl.col("t_at_max").sum().alias("total"))
    ops = ops.join(totals, on="subject", how="left").sort("subject", "operator")
    operators = tuple(
        OperatorProfile(
            subject=r["subject"],
            sku=r["sku"],
            operator=r["operator"],
            points=int(r["points"]),
            tokens_min=int(r["tokens_min"]),
            tokens_max=int(r["tokens_max"]),
            t_at_min_s=float(r["t_at_min"]),
            t_at_max_s=float(r["t_at_max"]),
            flat_until_tokens=None if r["flat_until"] is None else int(r["flat_until"]),
            s_per_token=_opt(r["slope_s_per_token"]),
            r2=_opt(r["r2"]),
            timing_cv=_opt(r["cv_mean"]),
            share_at_max=float(r["t_at_max"]) / float(r["total"]) if r["total"] else None,
        )
        for r in ops.iter_rows(named=True)
    )
    collectives = tuple(
        CollectiveProfile(
            subject=r["subject"],
            sku=r["sku"],
            collective=r["collective"],
            points=int(r["points"]),
            size_min_bytes=int(r["size_min"]),
            size_max_bytes=int(r["size_max"]),
            t_at_min_s=float(r["t_at_min"]),
            t_at_max_s=float(r["t_at_max"]),
            gb_per_s_at_max=r["size_max"] / r["t_at_max"] / 1e9 if r["t_at_max"] else None,
            gb_per_s_slope=1.0 / r["slope_s_per_byte"] / 1e9
            if r["slope_s_per_byte"] and r["slope_s_per_byte"] > 0
            else None,
        )
        for r in coll.iter_rows(named=True)
    )
    # The figure draws the first subject that runs on one GPU (tp1), else the first one.
    subjects = sorted({o.subject for o in operators})
    single = [s for s in subjects if s.endswith("/tp1")]
    curve_subject = (single or subjects)[0] if subjects else None
    curves = (
        db.query_rounded("profiles_points", trace=trace, subject=curve_subject)
        if curve_subject
        else pl.DataFrame()
    )
    return ProfilesResult(
        trace=trace,
        flat_factor=FLAT,
        subjects=len(subjects),
        operators=operators,
        collectives=collectives,
        curves=curves,
        curve_subject=curve_subject,
    )
