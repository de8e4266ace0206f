"""Compare traces: headline numbers side by side, and the same figures with one line per trace."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from analysis import compare, escape
from analysis.burstiness import BurstinessResult
from analysis.failures import KNOWN, FailuresResult
from dashboards import data, ui

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _rate_figure(parts: dict[str, BurstinessResult], normalize: bool) -> go.Figure:
    fig = go.Figure()
    for i, (trace, s) in enumerate(parts.items()):
        rate = s.overall.rate
        y = rate["rate_per_s"]
        mean = s.rate_per_s
        if normalize and mean:
            y = y / mean
        fig.add_scatter(
            x=(rate["offset_s"] / 3600.0).to_list(), y=y.to_list(), mode="lines", name=trace,
            line={"color": _color(i)},
        )  # fmt: skip
    fig.update_layout(
        title="Arrival rate" + (" relative to each trace's mean" if normalize else ""),
        xaxis={"title": "hours since the trace's first arrival"},
        yaxis={"title": "rate / mean rate" if normalize else "arrivals per second"},
        template="plotly_white",
    )
    return fig


def _idc_figure(parts: dict[str, BurstinessResult]) -> go.Figure:
    fig = go.Figure()
    lo, hi = None, None
    for i, (trace, s) in enumerate(parts.items()):
        idc = {w: v for w, v in s.overall.idc.items() if v}
        ws = sorted(idc)
        if not ws:
            continue
        lo = min(ws[0], lo if lo is not None else ws[0])
        hi = max(ws[-1], hi if hi is not None else ws[-1])
        fig.add_scatter(
            x=ws, y=[idc[w] for w in ws], mode="lines+markers", name=trace,
            line={"color": _color(i)},
        )  # fmt: skip
    return ui.finish_idc_figure(fig, lo, hi)


def _token_figure(ref: data.LakeRef, names: list[str]) -> go.Figure:
    fig = go.Figure()
    for i, trace in enumerate(names):
        for side, dash in (("input", "solid"), ("output", "dash")):
            x, f = data.token_cdf(ref, trace, side)
            if x:
                fig.add_scatter(
                    x=x, y=f, mode="lines", line_shape="hv", name=f"{trace} {side}",
                    line={"color": _color(i), "dash": dash},
                )  # fmt: skip
    fig.update_layout(
        title="Token length CDFs (solid: input, dashed: output)",
        xaxis={"title": "tokens per request (log scale)", "type": "log"},
        yaxis={"title": "share of requests", "range": [0, 1]},
        template="plotly_white",
    )
    return fig


def _failure_figure(parts: dict[str, FailuresResult]) -> go.Figure:
    fig = go.Figure()
    names = list(parts)
    for status in (*KNOWN[1:], "unsuccessful"):
        values = [parts[t].ratio_by_status.get(status) for t in names]
        if any(values):
            fig.add_bar(x=names, y=values, name=status)
    fig.update_layout(
        title="Final status shares (of rows with a known status)",
        barmode="group",
        yaxis={"title": "share", "tickformat": ".2~%"},
        template="plotly_white",
    )
    return fig


ref = ui.lake_or_stop()
st.title("Compare traces")
options = data.comparable_traces(ref)
if len(options) < 2:
    st.info("Comparing needs two traces with arrivals, token counts or final states.")
    st.stop()
# Two traces with both arrivals and token lengths make the fullest first view.
both = [t for t in data.arrival_traces(ref) if t in data.token_traces(ref)]
default = both[:2] if len(both) >= 2 else [t for t in data.arrival_traces(ref)][:2] or options[:2]
names = st.multiselect(
    "Traces (two or more)",
    options,
    default=default,
    key="compare-traces",
    max_selections=7,
    bind="query-params",
)
if len(names) < 2:
    st.info("Pick at least two traces.")
    st.stop()

with st.spinner("Characterizing the traces (each is cached after the first time)..."):
    table = data.headline(ref, tuple(names))
st.dataframe(table, key="compare-headline", hide_index=True)
st.caption(
    "Rate, CV and Hurst come from the burstiness analysis, the failure ratio from final "
    "states, token medians from finished requests, durations from the lake. " + compare.CAPTION
)
for note in compare.notes(table):
    st.caption(note)

figures: list[go.Figure] = []
bursts = {t: b for t in names if (b := data.compare_burstiness(ref, t)) is not None}
if bursts:
    normalize = st.toggle(
        "Rate relative to each trace's mean", value=len(bursts) > 1, key="compare-normalize"
    )
    figures += [_rate_figure(bursts, normalize), _idc_figure(bursts)]
token_names = [t for t in names if t in data.token_traces(ref)]
if token_names:
    figures.append(_token_figure(ref, token_names))
fails = {t: f for t in names if (f := data.compare_failures(ref, t)) is not None}
if fails:
    figures.append(_failure_figure(fails))
if not figures:
    st.info("None of these traces has arrivals, token counts or failures to plot.")
ui.show_figures(figures, key="compare")
missing = [t for t in names if t not in bursts and t not in token_names and t not in fails]
if missing:
    st.caption("Nothing to plot for: " + ", ".join(map(escape.markdown, missing)) + ".")
