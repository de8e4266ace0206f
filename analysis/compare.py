"""Cross-trace comparison: the headline figures of every trace side by side.

Each column is a named field of one analysis's result, with the same value (and the same
rounding) as in that trace's own section: the failure ratio is `FailuresResult.failure_ratio`
(unsuccessful over rows with a known status), the rate, CV and Hurst exponent come from
`BurstinessResult`, the token medians from `TokensResult`. Median durations come from the lake
(requests.duration_s, jobs.run_s): no section owns them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Protocol

import polars as pl

from analysis.burstiness import BurstinessResult
from analysis.db import LakeDB
from analysis.failures import FailuresResult
from analysis.failures_report import UNSUCCESSFUL_TEXT
from analysis.presentation import MISSING, rounded


class TokenMedians(Protocol):
    """What the table reads of token lengths: a `TokensResult`, or the `tokens.LengthCounts`
    a dashboard comparison computes alone (one scan, the same medians)."""

    @property
    def input_p50(self) -> float | None: ...

    @property
    def output_p50(self) -> float | None: ...


@dataclass(frozen=True)
class TraceResults:
    """The results the comparison reads for one trace (None where an analysis does not apply).

    Only the trace-level figures are read: results computed without groups, breakdowns or fits
    (`burstiness.compute(groups=False, fits=False)`, `failures.compute(breakdowns=False)`) give
    the same row.
    """

    burstiness: BurstinessResult | None = None
    failures: FailuresResult | None = None
    tokens: TokenMedians | None = None


@dataclass(frozen=True)
class HeadlineRow:
    """One trace's row of the comparison table (`comparison[]` in the report JSON)."""

    trace: str
    family: str
    events: int | None  # arrivals (or invocations) the burstiness analysis counted
    rate_per_s: float | None  # mean arrival rate over the span, per second
    iat_cv: float | None  # inter-arrival CV; None for counts-only series
    hurst: float | None  # mean of the Hurst estimates that exist (aggregated variance, R/S)
    failure_ratio: float | None  # unsuccessful over rows with a known final status
    input_p50: float | None  # median input length, tokens
    output_p50: float | None  # median output length of finished requests, tokens
    duration_p50_s: float | None  # median request duration or job run time, seconds


COLUMNS = {
    "trace": pl.String,
    "family": pl.String,
    "events": pl.Int64,
    "rate_per_s": pl.Float64,
    "iat_cv": pl.Float64,
    "hurst": pl.Float64,
    "failure_ratio": pl.Float64,
    "input_p50": pl.Float64,
    "output_p50": pl.Float64,
    "duration_p50_s": pl.Float64,
}
assert list(COLUMNS) == [f.name for f in fields(HeadlineRow)]

CAPTION = (
    "Headline figures: arrival rate, inter-arrival CV, Hurst exponent (mean of the estimators), "
    f"failure ratio (unsuccessful = {UNSUCCESSFUL_TEXT}, over the rows whose final status is "
    "known; rows with status unknown are left out), median tokens and median duration."
)
# Why a column of a row can be empty, in the order of the columns.
REASONS = {
    "rate_per_s": "no timed arrivals (or fewer than 20)",
    "iat_cv": "no timed arrivals, or counts per interval only (no gaps between arrivals)",
    "hurst": "no timed arrivals, or counts that do not vary",
    "failure_ratio": "nothing ended unsuccessfully, or no final status is recorded",
    "input_p50": "no token counts",
    "output_p50": "no token counts, or no finished request with an output",
    "duration_p50_s": "no durations recorded",
}


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _hurst(b: BurstinessResult) -> float | None:
    # the section's JSON rounds each estimate; the mean is taken of the same values
    values = [
        rounded(v)
        for v in (b.overall.hurst_aggregated_variance, b.overall.hurst_rescaled_range)
        if math.isfinite(v)
    ]
    return sum(values) / len(values) if values else None


def headline_rows(db: LakeDB, results: Mapping[str, TraceResults]) -> list[HeadlineRow]:
    """One row per trace of `results` with at least one headline figure, sorted by name."""
    medians = db.quantiles("compare_duration_values", (0.5,))
    durations = dict(zip(medians["grp"].to_list(), medians["p50"].to_list(), strict=True))
    rows = []
    for trace, r in sorted(results.items()):
        b = r.burstiness
        cv = (
            _finite(b.overall.iat_cv)
            if b is not None and not b.overall.source.counts_only
            else None
        )
        row = HeadlineRow(
            trace=trace,
            family=db.info(trace).family,
            events=b.events if b is not None else None,
            rate_per_s=rounded(_finite(b.rate_per_s)) if b is not None else None,
            iat_cv=rounded(cv),
            hurst=_hurst(b) if b is not None else None,
            failure_ratio=r.failures.failure_ratio if r.failures is not None else None,
            input_p50=r.tokens.input_p50 if r.tokens is not None else None,
            output_p50=r.tokens.output_p50 if r.tokens is not None else None,
            duration_p50_s=durations.get(trace),
        )
        # A trace with none of these figures (an inventory, a profile) would be a row of
        # dashes: its own section says what it holds.
        if any(v is not None for k, v in asdict(row).items() if k not in ("trace", "family")):
            rows.append(row)
    return rows


def table(rows: list[HeadlineRow]) -> pl.DataFrame:
    return pl.DataFrame([asdict(r) for r in rows], schema=COLUMNS)


def headline(db: LakeDB, results: Mapping[str, TraceResults]) -> pl.DataFrame:
    """The comparison table: one row per trace of `results` (see HeadlineRow)."""
    return table(headline_rows(db, results))


def notes(df: pl.DataFrame) -> list[str]:
    """Why cells of the comparison table are empty (shown as an em dash), per column."""
    out = []
    for column, reason in REASONS.items():
        if column in df.columns and df[column].null_count():
            names = df.filter(pl.col(column).is_null())["trace"].to_list()
            out.append(f"{MISSING} in {column} ({len(names)} trace(s)): {reason}.")
    return out
