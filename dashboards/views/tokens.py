"""Token lengths of LLM requests: CDFs with fitted models, output against input, sessions."""

from __future__ import annotations

import streamlit as st

from dashboards import data, ui

TITLE = "Token lengths"

ref = ui.lake_or_stop()
st.title(TITLE)
options = data.token_traces(ref)
if not options:
    ui.nothing_here("requests with input or output token counts")
    st.stop()
trace = ui.pick_trace("Trace", options, key="tokens-trace")
assert trace is not None
st.caption(ui.caption_of(ref, trace))

with st.spinner("Measuring token lengths (cached after the first time)..."):
    section = data.tokens_section(ref, trace)
    result = data.tokens_result(ref, trace)
if section is None or result is None:
    st.info("No finished request with token counts in this trace.")
    st.stop()

cols = st.columns(4)
cols[0].metric("requests", ui.metric_number(result.requests, "{:,.0f}"))
cols[1].metric("median input (tokens)", ui.metric_number(result.input_p50, "{:,.0f}"))
cols[2].metric("median output (tokens)", ui.metric_number(result.output_p50, "{:,.0f}"))
cols[3].metric(
    "Spearman rho, input vs output",
    ui.metric_number(result.spearman, "{:.2f}"),
    help="Rank correlation of input and output lengths over finished requests.",
)
ui.show_section(section, key=f"tokens-{trace}", page_title=TITLE)
