"""Performance variability of repeated benchmark runs (the `measurements` table).

TUNA (Freischuetz et al., EuroSys'25) released the Azure VM Noise dataset: benchmarks run again
and again on Azure VMs, either on long-lived VMs (three per SKU and region, measured for the whole
study) or on short-lived ones (a fresh VM, so mostly a fresh host, for every run). The measure of
noise is the coefficient of variation (sample standard deviation over the mean) of a benchmark's
results within a partition of the release (benchmark, metric, unit, lifespan, region, SKU);
`by_lifespan` takes the median over a benchmark's partitions, so one SKU or region cannot
dominate, and sets short-lived beside long-lived VMs.
"""

from __future__ import annotations

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
