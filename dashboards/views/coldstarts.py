"""Cold starts: the recorded breakdown where a trace has one, else a keep-alive what-if."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analysis.coldstarts import PHASES, RECORDED_DIMS, RecordedColdStarts
from analysis.coldstarts_report import PHASE_NAMES
from analysis.presentation import with_n
from analysis.section import Section
from dashboards import data, ui

WINDOW_KEY = "coldstarts-window"
# The section's own curves against the window, which the what-if figures redraw with the
# chosen window marked.
REDRAWN = "vs fixed keep-alive window"


def _phase_figure(table: pl.DataFrame, dim: str) -> go.Figure:
    fig = go.Figure()
    labels = [with_n(str(g), n) for g, n in zip(table["grp"], table["n"], strict=True)]
    for phase in PHASES:
        fig.add_bar(x=labels, y=table[f"{phase}_mean_s"].to_list(), name=PHASE_NAMES[phase])
    fig.add_scatter(
        x=labels, y=table["mean_s"].to_list(), mode="markers", name="total (mean)",
        marker={"symbol": "line-ew-open", "size": 24, "color": "black"},
    )  # fmt: skip
    fig.update_layout(
        title=f"Mean recorded cold start by phase, per {dim}",
        barmode="stack",
        xaxis={"title": dim, "type": "category"},
        yaxis={"title": "mean time (s)"},
        template="plotly_white",
    )
    return fig


def _recorded(ref: data.LakeRef, trace: str, result: RecordedColdStarts) -> None:
    total = result.overall
    cols = st.columns(4)
    cols[0].metric("cold starts", ui.metric_number(total.n, "{:,.0f}"))
    cols[1].metric("mean (s)", ui.metric_number(total.mean_s, "{:.2f}"))
    cols[2].metric("median (s)", ui.metric_number(total.p50_s, "{:.2f}"))
    cols[3].metric("p99 (s)", ui.metric_number(total.p99_s, "{:.2f}"))
    dim = st.selectbox("Break the phases down by", RECORDED_DIMS, key=f"coldstarts-dim-{trace}")
    table = data.recorded_coldstarts(ref, trace, dim)
    if table.height:
        ui.show_figures([_phase_figure(table, dim)], key=f"coldstarts-{trace}-by", columns=1)
        ui.show_table(f"Recorded cold starts by {dim}", table, key=f"coldstarts-{dim}")


RATES = (
    ("cold_start_rate", "all invocations"),
    ("fn_cold_rate_p50", "per function, median"),
    ("fn_cold_rate_p75", "per function, 75th percentile"),
)


def _what_if_figure(
    curve: pl.DataFrame,
    chosen: dict[str, Any],
    lines: tuple[tuple[str, str], ...],
    title: str,
    yaxis: dict[str, Any],
    scale: float = 1.0,
) -> go.Figure:
    """Curves against the fixed window, with the chosen window marked on each."""
    fig = go.Figure()
    for i, (column, name) in enumerate(lines):
        color = ("#1f77b4", "#ff7f0e", "#2ca02c")[i % 3]
        fig.add_scatter(
            x=curve["window_min"].to_list(), y=(curve[column] * scale).to_list(),
            mode="lines+markers", name=name, line={"color": color},
        )  # fmt: skip
        fig.add_scatter(
            x=[chosen["window_min"]], y=[chosen[column] * scale], mode="markers",
            marker={"size": 14, "symbol": "diamond", "color": color,
                    "line": {"width": 1.5, "color": "black"}},
            name=f"{name} at {chosen['window_min']:g} min", showlegend=False,
        )  # fmt: skip
    fig.update_layout(
        title=title,
        xaxis={"title": "keep-alive window (min, log scale)", "type": "log"},
        yaxis=yaxis,
        legend={"orientation": "h", "y": -0.25},
        template="plotly_white",
    )
    return fig


def _modelled(ref: data.LakeRef, trace: str, section: Section) -> bool:
    """The what-if controls and figures; whether the section's window curves were redrawn."""
    st.warning(
        "Modelled, not measured: this trace does not record cold starts. Each function is one "
        "instance kept warm for a fixed window after each invocation."
    )
    window = st.slider(
        "Keep-alive window (minutes)",
        min_value=1,
        max_value=240,
        value=10,
        step=1,
        key=WINDOW_KEY,
        help="Each window is one SQL pass over every function; results are cached.",
    )
    chosen = data.keepalive(ref, trace, float(window))
    if chosen is None:
        st.info("No invocations to replay.")
        return False
    cols = st.columns(4)
    cols[0].metric(
        "cold-start rate (modelled)", ui.metric_number(chosen["cold_start_rate"], "{:.2%}")
    )
    cols[1].metric(
        "functions, 75th pct. cold rate",
        ui.metric_number(chosen["fn_cold_rate_p75"], "{:.0%}"),
        help="A quarter of the functions start cold at least this often.",
    )
    cols[2].metric("functions always cold", ui.metric_number(chosen["fn_always_cold"], "{:.0%}"))
    cols[3].metric(
        "idle-but-warm instance-hours", ui.metric_number(chosen["wasted_s"] / 3600.0, "{:,.1f}")
    )
    curve = section.tables.get("keepalive_fixed_modelled")
    if curve is None or not curve.height:
        return False
    rates = _what_if_figure(
        curve,
        chosen,
        RATES,
        title="What if: cold starts (modelled; diamond = chosen window)",
        yaxis={"title": "cold starts / invocations (log)", "type": "log", "tickformat": ".2~%"},
    )
    wasted = _what_if_figure(
        curve,
        chosen,
        (("wasted_s", "all functions"),),
        title="What if: wasted warm time (modelled)",
        yaxis={"title": "idle-but-warm instance-hours"},
        scale=1 / 3600.0,
    )
    ui.show_figures([rates, wasted], key=f"coldstarts-{trace}-whatif")
    return True


ref = ui.lake_or_stop()
st.title("Cold starts")
sources = data.coldstart_traces(ref)
if not sources:
    ui.nothing_here("recorded cold starts or serverless invocations to model them from")
    st.stop()
trace = ui.pick_trace("Trace", list(sources), key="coldstarts-trace")
assert trace is not None
st.caption(ui.caption_of(ref, trace))

with st.spinner("Replaying keep-alive policies (cached after the first time)..."):
    section = data.coldstarts_section(ref, trace)
    result = data.coldstarts_result(ref, trace)
if section is None or result is None:
    st.info("Nothing to report: no cold-start records and no invocations.")
    st.stop()
figures = section.figures
if isinstance(result, RecordedColdStarts):
    _recorded(ref, trace, result)
elif _modelled(ref, trace, section):
    figures = [f for f in figures if REDRAWN not in (f.layout.title.text or "")]
ui.show_section(section, key=f"coldstarts-{trace}", figures=figures)
