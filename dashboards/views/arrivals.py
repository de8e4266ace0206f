"""Arrivals and burstiness of one trace, or of one of its services, tenants or job types."""

from __future__ import annotations

import streamlit as st

from analysis.burstiness import MIN_EVENTS
from dashboards import data, ui

TITLE = "Arrivals and burstiness"
WHOLE = ("", "")


def _scope_label(scope: tuple[str, str]) -> str:
    if scope == WHOLE:
        return "whole trace (with its largest groups)"
    dim, value = scope
    return f"{dim}: {value if len(value) <= 40 else value[:37] + '...'}"


ref = ui.lake_or_stop()
st.title(TITLE)
options = data.arrival_traces(ref)
if not options:
    ui.nothing_here("timed arrivals (requests, jobs or invocation counts)")
    st.stop()

left, right = st.columns(2)
with left:
    trace = ui.pick_trace("Trace", options, key="arrivals-trace")
assert trace is not None
groups = data.arrival_groups(ref, trace)
scopes = [WHOLE]
if not groups.is_empty():
    many = groups.filter(groups["groups"] >= 2)
    scopes += list(zip(many["dim"].to_list(), many["group"].to_list(), strict=True))
with right:
    scope = st.selectbox(
        "Service / tenant / job type",
        scopes,
        format_func=_scope_label,
        key=f"arrivals-scope-{trace}",
        help="The largest groups of each column the trace has (by arrivals).",
    )
st.caption(ui.caption_of(ref, trace))

with st.spinner("Measuring burstiness (cached after the first time)..."):
    if scope == WHOLE:
        section = data.burstiness_section(ref, trace)
        whole = data.burstiness_result(ref, trace)
        result = whole.overall if whole is not None else None
    else:
        section = data.burstiness_group(ref, trace, scope[0], scope[1])
        result = data.burstiness_group_result(ref, trace, scope[0], scope[1])
if section is None or result is None:
    st.info(f"Fewer than {MIN_EVENTS} timed arrivals here: nothing to measure.")
    st.stop()

last_window = max(result.idc) if result.idc else None
cols = st.columns(5)
cols[0].metric("arrivals", ui.metric_number(result.summary.events, "{:,.0f}"))
cols[1].metric("mean rate (1/s)", ui.metric_number(result.summary.rate_per_s))
cv = None if result.source.counts_only else result.iat_cv
cols[2].metric("inter-arrival CV", ui.metric_number(cv), help="Poisson: 1")
cols[3].metric(
    f"IDC at {ui.human_seconds(last_window)}" if last_window else "IDC",
    ui.metric_number(result.idc[last_window] if last_window else None),
    help="Index of dispersion of counts at the widest window; Poisson: 1",
)
cols[4].metric(
    "Hurst (agg. variance / R/S)",
    " / ".join(
        ui.metric_number(h, "{:.2f}")
        for h in (result.hurst_aggregated_variance, result.hurst_rescaled_range)
    ),
    help="0.5 without long-range dependence",
)
st.caption(
    "Drag on a figure to zoom, double-click to reset; the slider under the rate zooms in time."
)
ui.show_section(section, key=f"arrivals-{trace}-{scope[0]}-{scope[1]}", page_title=TITLE)
