"""Performance variability of repeated benchmark runs (the `measurements` table).

TUNA (Freischuetz et al., EuroSys'25) released the Azure VM Noise dataset: benchmarks run again
and again on Azure VMs, either on long-lived VMs (three per SKU and region, measured for the whole
study) or on short-lived ones (a fresh VM, so mostly a fresh host, for every run). The measure of
noise is the coefficient of variation (sample standard deviation over the mean) of a benchmark's
results within a partition of the release (benchmark, metric, unit, lifespan, region, SKU);
`by_lifespan` takes the median over a benchmark's partitions, so one SKU or region cannot
dominate, and sets short-lived beside long-lived VMs.

`compute` adds what TUNA's readers ask next (queries variability_*.sql): the CV per SKU and
region, runs far from their partition's median (outliers, and those on the worse side:
degraded), and drift over time (the slope of each partition against time, and the level of
30-day windows relative to the partition's mean). It applies to timed runs only: profiles and
per-iteration measurements without a clock (Vidur, PAI mini-batches) have their own analyses.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analysis.db import LakeDB

KEYS = ("benchmark", "metric", "unit")


def cv_by_partition(db: LakeDB, trace: str) -> pl.DataFrame:
    """Runs, subjects, mean, std and CV per benchmark, metric, unit, lifespan, region and SKU."""
    if not db.has(trace, "measurements"):
        return pl.DataFrame()
    return db.query_rounded("variability_cv", trace=trace)


def by_lifespan(db: LakeDB, trace: str) -> pl.DataFrame:
    """Median partition CV per benchmark, metric and unit, long- and short-lived VMs side by side.

    Columns: benchmark, metric, unit, then per lifespan L in the trace (long, short):
    partitions_L, runs_L, cv_L (median over partitions), cv_min_L, cv_max_L; and
    short_over_long (cv_short / cv_long) when both exist. Empty when no row has a lifespan.
    """
    parts = cv_by_partition(db, trace)
    if parts.is_empty() or parts["lifespan"].null_count() == parts.height:
        return pl.DataFrame()
    long = (
        parts.filter(pl.col("lifespan").is_not_null() & pl.col("cv").is_not_null())
        .group_by(*KEYS, "lifespan")
        .agg(
            pl.len().alias("partitions"),
            pl.col("runs").sum().alias("runs"),
            pl.col("cv").median().alias("cv"),
            pl.col("cv").min().alias("cv_min"),
            pl.col("cv").max().alias("cv_max"),
        )
    )
    wide = long.pivot(
        on="lifespan",
        index=list(KEYS),
        values=["partitions", "runs", "cv", "cv_min", "cv_max"],
        separator="_",
    ).sort(*KEYS)
    if {"cv_long", "cv_short"} <= set(wide.columns):
        wide = wide.with_columns((pl.col("cv_short") / pl.col("cv_long")).alias("short_over_long"))
    return wide


# ---------------------------------------------------------------- the report's compute step

# A run more than BAND away from its partition's median is an outlier (TUNA's concern: a
# tuning run that lands on a noisy moment); the predictor of issue 13 uses the same 10%.
BAND = 0.10
DRIFT_DAYS = 30.0
# A 30-day window with fewer runs than this is too noisy to show a level.
MIN_WINDOW_RUNS = 30
# Units where a larger value is worse (latencies); for the rest (throughputs) a smaller one is.
TIME_UNITS = ("ns", "us", "µs", "ms", "s")
PARTITION_KEYS = ("benchmark", "metric", "unit", "lifespan", "region", "sku")


@dataclass(frozen=True)
class BenchmarkVariability:
    """Run-to-run variability of one benchmark metric over the partitions that ran it.

    CVs are sample standard deviation over mean within a partition, then the median over
    partitions; shares are fractions of runs; drift is the least-squares slope of the value
    against time, over the partition's mean, per DRIFT_DAYS days (signed: + = rising)."""

    benchmark: str
    metric: str
    unit: str | None
    higher_is_worse: bool  # a latency (time unit): degradation is above the median
    partitions: int
    runs: int
    cv_median: float | None  # median partition CV over every partition
    cv_by_lifespan: dict[str, float]  # lifespan (long, short) -> median partition CV
    short_over_long: float | None  # cv_by_lifespan short / long
    cv_by_sku: dict[str, float]
    cv_by_region: dict[str, float]
    outlier_share: float  # runs more than BAND from their partition median / runs
    degraded_share: float  # runs more than BAND worse than their partition median / runs
    outlier_share_by_lifespan: dict[str, float]
    drift_median_abs: float | None  # median over partitions of |drift| per DRIFT_DAYS days
    drift_max: float | None  # the partition drift of largest magnitude, signed
    drift_max_partition: str | None  # its lifespan/region/sku
    window_swing_by_lifespan: dict[str, float]  # max - min of 30-day level (1 = partition mean)


@dataclass(frozen=True)
class VariabilityResult:
    """Every timed benchmark of one trace, with the per-partition and per-window tables."""

    trace: str
    band: float  # outlier band around the partition median (fraction)
    drift_days: float  # drift is expressed per this many days
    benchmarks: tuple[BenchmarkVariability, ...]
    partitions: pl.DataFrame  # per partition: runs, subjects, mean, std, cv, median, below, ...
    windows: pl.DataFrame  # benchmark, metric, unit, lifespan, window_start_s, runs, rel_mean

    def benchmark(self, prefix: str, metric: str) -> BenchmarkVariability:
        for b in self.benchmarks:
            if b.benchmark.startswith(prefix) and b.metric == metric:
                return b
        raise KeyError(f"{self.trace} has no benchmark {prefix!r} / {metric!r}")


def _medians(parts: pl.DataFrame, dim: str) -> dict[str, float]:
    known = parts.filter(pl.col(dim).is_not_null() & pl.col("cv").is_not_null())
    if known.is_empty():
        return {}
    agg = known.group_by(dim).agg(pl.col("cv").median()).sort(dim)
    return dict(zip(agg[dim].to_list(), agg["cv"].to_list(), strict=True))


def _label(row: dict[str, object]) -> str:
    return "/".join(str(row[k]) if row[k] is not None else "-" for k in PARTITION_KEYS[3:])


def _benchmark(parts: pl.DataFrame, windows: pl.DataFrame) -> BenchmarkVariability:
    first = parts.row(0, named=True)
    unit = first["unit"]
    worse_above = unit in TIME_UNITS
    runs = int(parts["runs"].sum())
    outside = int(parts["below"].sum()) + int(parts["above"].sum())
    degraded = int(parts["above" if worse_above else "below"].sum())
    by_life = {}
    for (life,), grp in parts.filter(pl.col("lifespan").is_not_null()).group_by(
        "lifespan", maintain_order=True
    ):
        out = int(grp["below"].sum()) + int(grp["above"].sum())
        by_life[str(life)] = out / int(grp["runs"].sum())
    drift = parts.filter(pl.col("drift").is_not_null())
    drift_max = drift_where = None
    if drift.height:
        top = drift.sort(pl.col("drift").abs(), descending=True).row(0, named=True)
        drift_max, drift_where = float(top["drift"]), _label(top)
    swings = {}
    steady = windows.filter(pl.col("runs") >= MIN_WINDOW_RUNS)
    for (life,), grp in steady.filter(pl.col("lifespan").is_not_null()).group_by(
        "lifespan", maintain_order=True
    ):
        if grp.height > 1:
            levels = grp["rel_mean"].to_list()
            swings[str(life)] = float(max(levels)) - float(min(levels))
    cv_life = _medians(parts, "lifespan")
    ratio = cv_life["short"] / cv_life["long"] if {"short", "long"} <= cv_life.keys() else None
    cv_known = parts["cv"].drop_nulls()
    return BenchmarkVariability(
        benchmark=str(first["benchmark"]),
        metric=str(first["metric"]),
        unit=None if unit is None else str(unit),
        higher_is_worse=worse_above,
        partitions=parts.height,
        runs=runs,
        cv_median=float(cv_known.median()) if cv_known.len() else None,  # type: ignore[arg-type]
        cv_by_lifespan=cv_life,
        short_over_long=ratio,
        cv_by_sku=_medians(parts, "sku"),
        cv_by_region=_medians(parts, "region"),
        outlier_share=outside / runs,
        degraded_share=degraded / runs,
        outlier_share_by_lifespan=dict(sorted(by_life.items())),
        drift_median_abs=float(drift["drift"].abs().median()) if drift.height else None,  # type: ignore[arg-type]
        drift_max=drift_max,
        drift_max_partition=drift_where,
        window_swing_by_lifespan=dict(sorted(swings.items())),
    )


def compute(db: LakeDB, trace: str) -> VariabilityResult | None:
    """TUNA-style variability of a trace's timed benchmark runs; None without any."""
    if not db.has(trace, "measurements"):
        return None
    outliers = db.query_rounded("variability_outliers", trace=trace, band=BAND)
    if outliers.is_empty():
        return None
    keys = list(PARTITION_KEYS)
    cv = cv_by_partition(db, trace).select(*keys, "subjects", "mean", "std", "cv")
    drift = db.query_rounded("variability_drift", trace=trace).select(
        *keys,
        "span_days",
        (pl.col("slope_per_day") * DRIFT_DAYS / pl.col("mean")).alias("drift"),
    )
    parts = (
        outliers.join(cv, on=keys, how="left", nulls_equal=True)
        .join(drift, on=keys, how="left", nulls_equal=True)
        .sort(keys, nulls_last=True)
    )
    windows = db.query_rounded("variability_monthly", trace=trace)
    out = []
    for _, grp in parts.group_by(["benchmark", "metric", "unit"], maintain_order=True):
        first = grp.row(0, named=True)
        win = windows.filter(
            (pl.col("benchmark") == first["benchmark"]) & (pl.col("metric") == first["metric"])
        )
        out.append(_benchmark(grp, win))
    return VariabilityResult(
        trace=trace,
        band=BAND,
        drift_days=DRIFT_DAYS,
        benchmarks=tuple(out),
        partitions=parts,
        windows=windows,
    )
