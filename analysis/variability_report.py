"""Presentation of `analysis.variability` (TUNA-style run-to-run variability) for the report."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go
import polars as pl

from analysis.describe import count, num, pct
from analysis.presentation import drawable
from analysis.section import Section
from analysis.variability import MIN_WINDOW_RUNS, BenchmarkVariability, VariabilityResult


def short_name(b: BenchmarkVariability) -> str:
    """'Redis/Test: GET - Parallel Connections: 50' -> 'Redis/Test: GET (requests_per_second)'."""
    return f"{b.benchmark.split(' - ')[0]} ({b.metric})"


def _fig_cv(result: VariabilityResult) -> go.Figure:
    fig = go.Figure()
    names = [short_name(b) for b in result.benchmarks]
    lifespans = sorted({k for b in result.benchmarks for k in b.cv_by_lifespan})
    for life in lifespans or ["all"]:
        cvs = [b.cv_by_lifespan.get(life) if lifespans else b.cv_median for b in result.benchmarks]
        n = [
            int(
                result.partitions.filter(
                    (pl.col("benchmark") == b.benchmark)
                    & (pl.col("metric") == b.metric)
                    & ((pl.col("lifespan") == life) if lifespans else pl.lit(True))
                )["runs"].sum()
            )
            for b in result.benchmarks
        ]
        fig.add_bar(
            x=names,
            y=cvs,
            name=f"{life}-lived VMs" if lifespans else "all runs",
            text=[f"n={v:,}" for v in n],
            textposition="outside",
        )
    fig.update_layout(
        barmode="group",
        title="Run-to-run variability: median partition CV per benchmark",
        xaxis_title="benchmark (metric)",
        yaxis_title="coefficient of variation",
        legend={"orientation": "h", "y": -0.45},
    )
    return fig


def _fig_outliers(result: VariabilityResult) -> go.Figure:
    fig = go.Figure()
    names = [short_name(b) for b in result.benchmarks]
    lifespans = sorted({k for b in result.benchmarks for k in b.outlier_share_by_lifespan})
    for life in lifespans:
        fig.add_bar(
            x=names,
            y=[b.outlier_share_by_lifespan.get(life) for b in result.benchmarks],
            name=f"{life}-lived VMs",
        )
    if not lifespans:
        fig.add_bar(x=names, y=[b.outlier_share for b in result.benchmarks], name="all runs")
    fig.update_layout(
        barmode="group",
        title=f"Outlier runs: more than {pct(result.band, 0)} from their partition's median",
        xaxis_title="benchmark (metric)",
        yaxis_title="share of runs",
        yaxis_tickformat=".0%",
        legend={"orientation": "h", "y": -0.45},
    )
    return fig


def _fig_drift(result: VariabilityResult) -> go.Figure:
    fig = go.Figure()
    steady = result.windows.filter(pl.col("runs") >= MIN_WINDOW_RUNS)
    for b in result.benchmarks:
        for life in sorted({k for k in b.window_swing_by_lifespan}):
            w = steady.filter(
                (pl.col("benchmark") == b.benchmark)
                & (pl.col("metric") == b.metric)
                & (pl.col("lifespan") == life)
            )
            fig.add_scatter(
                x=[datetime.fromtimestamp(s, UTC) for s in w["window_start_s"].to_list()],
                y=w["rel_mean"].to_list(),
                mode="lines+markers",
                name=f"{short_name(b)}, {life}",
            )
    fig.update_layout(
        title="Drift: 30-day mean over the partition's mean",
        xaxis_title="30-day window (UTC)",
        yaxis_title="level (1 = partition mean)",
        legend={"orientation": "h", "y": -0.3},
    )
    return fig


def _summary_table(result: VariabilityResult) -> pl.DataFrame:
    rows = []
    for b in result.benchmarks:
        rows.append(
            {
                "benchmark": short_name(b),
                "partitions": b.partitions,
                "runs": b.runs,
                "CV long": b.cv_by_lifespan.get("long"),
                "CV short": b.cv_by_lifespan.get("short"),
                "short / long": b.short_over_long,
                **{f"CV {k}": v for k, v in b.cv_by_sku.items()},
                **{f"CV {k}": v for k, v in b.cv_by_region.items()},
                "outliers": b.outlier_share,
                "degraded": b.degraded_share,
                f"median |drift| per {result.drift_days:g} d": b.drift_median_abs,
            }
        )
    return pl.DataFrame(rows)


def _partition_table(result: VariabilityResult) -> pl.DataFrame:
    return result.partitions.select(
        pl.col("benchmark").str.split(" - ").list.first().alias("benchmark"),
        "metric",
        "lifespan",
        "region",
        "sku",
        "runs",
        "subjects",
        "mean",
        "cv",
        ((pl.col("below") + pl.col("above")) / pl.col("runs")).alias("outliers"),
        "span_days",
        pl.col("drift").alias(f"drift per {result.drift_days:g} d"),
    )


def _findings(result: VariabilityResult) -> list[str]:
    out = []
    for b in result.benchmarks:
        life = b.cv_by_lifespan
        if {"long", "short"} <= life.keys():
            cv = (
                f"median partition CV {num(life['long'])} on long-lived VMs and "
                f"{num(life['short'])} on short-lived ones ({num(b.short_over_long)}x)"
            )
        else:
            cv = f"median partition CV {num(b.cv_median)}"
        outl = b.outlier_share_by_lifespan
        side = "higher" if b.higher_is_worse else "lower"
        outliers = (
            f"{pct(outl.get('long'))} of long-lived and {pct(outl.get('short'))} of short-lived "
            f"runs lie more than {pct(result.band, 0)} from their partition median"
            if {"long", "short"} <= outl.keys()
            else f"{pct(b.outlier_share)} of runs lie more than {pct(result.band, 0)} from their "
            "partition median"
        )
        out.append(
            f"{short_name(b)}: {cv}; {outliers}, and {pct(b.degraded_share)} of all runs are "
            f"degraded (more than {pct(result.band, 0)} {side})."
        )
        if b.drift_max is not None:
            swing = b.window_swing_by_lifespan.get("long")
            level = (
                f"; the 30-day level of long-lived VMs moves over {pct(swing)} of the mean"
                if swing is not None
                else ""
            )
            out.append(
                f"{short_name(b)} drifts by a median {pct(b.drift_median_abs, 2)} per "
                f"{result.drift_days:g} days (largest {pct(b.drift_max, 2)}, "
                f"{b.drift_max_partition}){level}."
            )
    noisier = [b for b in result.benchmarks if b.short_over_long and b.short_over_long > 1]
    ranked = [b for b in result.benchmarks if b.short_over_long]
    if ranked and len(noisier) == len(ranked):
        lo = min(b.short_over_long or 0.0 for b in ranked)
        hi = max(b.short_over_long or 0.0 for b in ranked)
        out.append(
            f"Short-lived VMs (a fresh VM, mostly a fresh host, per run) are noisier than "
            f"long-lived ones for every benchmark: {num(lo)}x to {num(hi)}x the CV."
        )
    return out


def numbers(result: VariabilityResult) -> dict[str, Any]:
    benchmarks = {}
    for b in result.benchmarks:
        fields = asdict(b)
        del fields["benchmark"], fields["metric"]
        benchmarks[f"{b.benchmark} | {b.metric}"] = fields
    return {
        "band": result.band,
        "drift_days": result.drift_days,
        "partitions": result.partitions.height,
        "runs": int(result.partitions["runs"].sum()),
        "benchmarks": benchmarks,
    }


def section(result: VariabilityResult) -> Section:
    return Section(
        key="variability",
        title="Performance variability of repeated benchmark runs",
        numbers=numbers(result),
        tables={
            "Variability per benchmark (median partition CV by lifespan, SKU, region)": (
                _summary_table(result)
            ),
            "Partitions (one file of the release: benchmark, lifespan, region, SKU)": (
                _partition_table(result)
            ),
        },
        figures=drawable([_fig_cv(result), _fig_outliers(result), _fig_drift(result)]),
        findings=_findings(result),
        notes=[
            "CV is the sample standard deviation over the mean of one partition's runs; the "
            "median over partitions keeps one SKU or region from dominating. Outliers lie more "
            f"than {pct(result.band, 0)} from their partition's median; degraded ones on the "
            "worse side (lower throughput, higher latency). Drift is the least-squares slope "
            f"against time over the partition mean, per {result.drift_days:g} days; 30-day "
            f"windows with fewer than {MIN_WINDOW_RUNS} runs are not shown.",
            f"{count(int(result.partitions['runs'].sum()))} timed runs in "
            f"{result.partitions.height} partitions.",
        ],
    )
