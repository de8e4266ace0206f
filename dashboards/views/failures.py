"""Failures: final-status shares, by group, size, hour and over time, and what they cost."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analysis.failures import STATUSES
from analysis.failures_report import COLORS, DEFINITION
from analysis.presentation import with_n
from dashboards import data, ui

DIM_NAMES = {
    "job_type": "job type",
    "tenant": "tenant / user",
    "cluster": "cluster",
    "service": "service / model",
    "kind": "request kind",
    "num_gpus": "GPUs requested",
    "num_cpus": "CPUs requested",
    "input_tokens": "input tokens",
    "hour": "hour of day (UTC)",
}


def _breakdown_figure(table: pl.DataFrame, dim: str) -> go.Figure:
    fig = go.Figure()
    labels = [with_n(str(g), n) for g, n in zip(table["grp"], table["n"], strict=True)]
    known = (table["n"] - table["unknown_rows"]).to_list()
    for status in STATUSES:
        if status in table.columns:
            fig.add_bar(
                x=labels,
                y=table[status].to_list(),
                name=status,
                marker_color=COLORS[status],
                customdata=known,
                hovertemplate="%{x}: %{y:.1%} of %{customdata:,} with a known status ("
                + status
                + ")<extra></extra>",
            )
    fig.update_layout(
        title=f"Final status by {DIM_NAMES.get(dim, dim)}",
        barmode="stack",
        yaxis={"title": "share of rows with a known status", "tickformat": ".0%", "range": [0, 1]},
        xaxis={"title": DIM_NAMES.get(dim, dim), "type": "category"},
        template="plotly_white",
    )
    return fig


ref = ui.lake_or_stop()
st.title("Failures")
options = data.failure_traces(ref)
if not options:
    ui.nothing_here("final states of jobs or requests")
    st.stop()
trace = ui.pick_trace("Trace", options, key="failures-trace")
assert trace is not None
st.caption(ui.caption_of(ref, trace))

with st.spinner("Counting final states (cached after the first time)..."):
    section = data.failures_section(ref, trace)
    result = data.failures_result(ref, trace)
if section is None or result is None:
    st.info(
        "Nothing failed in this trace: every row ended ok or has no recorded final state, "
        "and it publishes no final-state shares."
    )
    st.stop()

counts = result.recorded.counts if result.recorded is not None else None
shown = [
    (label, ui.metric_number(value, fmt), help_text)
    for label, value, fmt, help_text in (
        ("rows", counts.rows if counts else None, "{:,.0f}", None),
        ("unsuccessful", result.failure_ratio, "{:.1%}", DEFINITION),
        ("failed", result.ratio_by_status.get("failed"), "{:.1%}", "Of rows with a known status."),
        (
            "no final state (rows)",
            counts.unknown_rows if counts else None,
            "{:,.0f}",
            "Rows with status unknown: left out of every share.",
        ),
    )
    if value is not None
]
for col, (label, text, help_text) in zip(st.columns(4), shown, strict=False):
    col.metric(label, text, help=help_text)

dims = data.failure_dims(ref, trace)
if dims:
    dim = st.selectbox(
        "Break down by",
        dims,
        format_func=lambda d: DIM_NAMES.get(d, d),
        key=f"failures-dim-{trace}",
    )
    table = data.failure_ratios(ref, trace, dim)
    if table.height:
        ui.show_figures([_breakdown_figure(table, dim)], key=f"failures-{trace}-by", columns=1)
        ui.show_table(f"Shares by {DIM_NAMES.get(dim, dim)}", table, key=f"failures-{dim}")
ui.show_section(section, key=f"failures-{trace}")
