"""Presentation of `analysis.utilization`: tables, figures, findings and JSON of one trace."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go
import polars as pl

from analysis.describe import count, listing, num, pct, value
from analysis.presentation import drawable, time_axis
from analysis.section import Section
from analysis.utilization import (
    DAILY_CYCLE,
    HOT_ENTITY_SHARE,
    PARTIAL_SPAN,
    MetricUtilization,
    UtilizationResult,
)

# Figures show at most this many metrics, percent metrics (utilization) first.
FIGURE_METRICS = 3
TOP_ENTITIES = 10


def _shown(result: UtilizationResult) -> list[MetricUtilization]:
    ranked = sorted(result.metrics, key=lambda m: (m.unit != "percent", m.metric))
    return ranked[:FIGURE_METRICS]


def _x(result: UtilizationResult, starts: pl.Series) -> tuple[list[Any], str]:
    """Bin starts as UTC datetimes, or as the time since the trace's start for relative time."""
    times = [datetime.fromtimestamp(s, UTC) for s in starts.to_list()]
    return time_axis(times, "relative" if result.relative_time else "absolute")


def _fig_over_time(result: UtilizationResult) -> go.Figure:
    fig = go.Figure()
    for m in _shown(result):
        b = result.bins.filter(pl.col("metric") == m.metric)
        x, x_title = _x(result, b["bin_start_s"])
        unit = f" ({m.unit})" if m.unit else ""
        fig.add_scatter(x=x, y=b["mean"].to_list(), mode="lines", name=f"{m.metric}{unit}: mean")
        fig.add_scatter(
            x=x,
            y=b["max_entity_mean"].to_list(),
            mode="lines",
            line={"dash": "dot"},
            name=f"{m.metric}: highest entity",
        )
    fig.update_layout(
        title="Hourly mean over entities, and the highest entity",
        xaxis_title=x_title,
        yaxis_title="value (unit in the legend)",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def _fig_entities(result: UtilizationResult) -> go.Figure:
    """Each entity's mean, sorted: the spread across machines at a glance."""
    fig = go.Figure()
    for m in _shown(result):
        e = result.entities.filter(pl.col("metric") == m.metric).sort("mean", descending=True)
        unit = f" ({m.unit})" if m.unit else ""
        fig.add_scatter(
            x=list(range(1, e.height + 1)),
            y=e["mean"].to_list(),
            mode="lines+markers",
            name=f"{m.metric}{unit}",
            text=e["entity"].to_list(),
        )
    fig.update_layout(
        title="Mean per entity, highest first (imbalance across entities)",
        xaxis_title="entity rank (1 = highest mean)",
        yaxis_title="entity mean (unit in the legend)",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def _fig_diurnal(result: UtilizationResult) -> go.Figure | None:
    daily = [m for m in result.metrics if m.diurnal is not None]
    if not daily:
        return None
    fig = go.Figure()
    for m in daily:
        assert m.diurnal is not None
        known = [v for v in m.diurnal if v is not None]
        base = sum(known) / len(known) if known else None
        y = [v / base if v is not None and base else None for v in m.diurnal]
        fig.add_scatter(x=list(range(24)), y=y, mode="lines+markers", name=m.metric)
    clock = "hour of the trace clock" if result.relative_time else "hour of day (UTC)"
    fig.update_layout(
        title="Diurnal pattern: mean per hour over the metric's daily mean",
        xaxis_title=clock,
        yaxis_title="mean / daily mean",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def _table(result: UtilizationResult) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "metric": m.metric,
                "unit": m.unit,
                "samples": m.samples,
                "entities": m.entities,
                "invalid": m.invalid,
                "recorded share": m.recorded_share,
                "mean": m.mean,
                "p50": m.p50,
                "p90": m.p90,
                "p99": m.p99,
                "max": m.max,
                "imbalance (max/mean)": m.imbalance,
                "hot share": m.hot_share,
                "missing hours": m.missing_hour_share,
            }
            for m in result.metrics
        ]
    )


def _hot_table(result: UtilizationResult) -> pl.DataFrame:
    hot = result.entities.filter(pl.col("hot_share") > 0)
    if hot.is_empty():
        return hot
    return (
        hot.sort(["hot_share", "metric", "entity"], descending=[True, False, False])
        .head(TOP_ENTITIES)
        .select("metric", "entity", "valid", "mean", "max", "hot", "hot_share")
    )


def _findings(result: UtilizationResult) -> list[str]:
    out = []
    clock = "of the trace clock" if result.relative_time else "UTC"
    for m in result.metrics:
        spread = (
            f"entity means range {num(m.entity_mean_min)}-{value(m.entity_mean_max, m.unit)} "
            f"(the highest at {num(m.imbalance)}x the average)"
            if m.entities > 1
            else "one entity"
        )
        line = (
            f"{m.metric}: median {value(m.p50, m.unit)}, p99 {value(m.p99, m.unit)} over "
            f"{count(m.samples - m.invalid)} samples of {count(m.entities)} entities; {spread}"
        )
        if m.hot_threshold is not None and m.hot_entities is not None:
            line += (
                f"; {pct(m.hot_share)} of samples at or above {m.hot_threshold:g}%, and "
                f"{m.hot_entities} of {m.entities} entities spend at least "
                f"{pct(HOT_ENTITY_SHARE, 0)} of their samples there (most: {m.hottest_entity}, "
                f"{pct(m.hottest_entity_share)})"
            )
        out.append(line + ".")
        if m.peak_to_trough is not None and m.peak_to_trough >= DAILY_CYCLE:
            out.append(
                f"{m.metric} follows a daily cycle: highest at hour {m.peak_hour} {clock}, "
                f"lowest at hour {m.trough_hour} ({num(m.peak_to_trough)}x)."
            )
    flat = [
        m.metric
        for m in result.metrics
        if m.peak_to_trough is not None and m.peak_to_trough < DAILY_CYCLE
    ]
    if flat:
        out.append(
            f"No marked daily cycle in {listing(flat)} (busiest hour under {DAILY_CYCLE:g}x the "
            "quietest)."
        )
    if result.metrics:
        worst = max(result.metrics, key=lambda m: m.missing_hour_share or 0.0)
        if worst.missing_hour_share:
            out.append(
                f"Missing data: up to {pct(worst.missing_hour_share)} of entity-hours inside each "
                f"entity's own span have no sample ({worst.metric})."
            )
        partial = max(result.metrics, key=lambda m: m.partial_entities)
        if partial.partial_entities:
            names = (
                f": {listing(partial.partial_examples)}"
                if partial.partial_entities <= len(partial.partial_examples)
                else ""
            )
            out.append(
                f"{partial.partial_entities} of {partial.entities} entities cover less than "
                f"{pct(PARTIAL_SPAN, 0)} of the {partial.span_hours} h the metric spans{names}."
            )
        invalid = [m for m in result.metrics if m.invalid]
        for m in invalid:
            out.append(
                f"{count(m.invalid)} {m.metric} samples carry an invalid marker and are left out."
            )
        if max(m.recorded_share for m in result.metrics) == 1.0:
            sparse = [m for m in result.metrics if m.recorded_share < 1.0]
            for m in sparse:
                out.append(
                    f"{m.metric} is recorded at {pct(m.recorded_share)} of the sampling instants."
                )
    return out


def numbers(result: UtilizationResult) -> dict[str, Any]:
    """The section's JSON: every field of every metric, by metric name."""
    metrics = {}
    for m in result.metrics:
        fields = asdict(m)
        del fields["metric"]
        metrics[m.metric] = fields
    return {"bin_s": result.bin_s, "metrics": metrics}


def section(result: UtilizationResult) -> Section:
    figures = [_fig_over_time(result), _fig_entities(result)]
    diurnal = _fig_diurnal(result)
    if diurnal is not None:
        figures.append(diurnal)
    tables = {"Level metrics (values in each metric's unit)": _table(result)}
    hot = _hot_table(result)
    if not hot.is_empty():
        tables["Hot spots: entities with the largest share of samples at or above 80%"] = hot
    notes = [
        "Imbalance is the highest entity mean over the mean of all entities' means; missing "
        "hours are hours without a sample inside each entity's own first-to-last span."
    ]
    if result.relative_time:
        notes.append("Relative time: hours are those of the trace's own clock, not local time.")
    return Section(
        key="utilization",
        title="Utilization and level metrics per entity",
        numbers=numbers(result),
        tables=tables,
        figures=drawable(figures),
        findings=_findings(result),
        notes=notes,
    )
