"""Generate a workload: pick a trace, a rate scale, a duration, a seed and a format; see which
arrival model was chosen, the fidelity table, and the generated workload beside its source on
the same figures (rate over time, inter-arrival CDF, IDC curve, token-length CDFs)."""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from analysis import escape
from analysis.db import jsonable
from dashboards import data, generate_data, ui
from dashboards.generate_data import Curve, Generated
from generate.api import MAX_DURATION_S
from ingest.errors import DataError, UsageError

COLORS = {"source": "#1f77b4", "generated": "#d62728"}
# Generated dashed over solid source: where they coincide both stay visible.
DASH = {"source": "solid", "generated": "dash"}
SCALES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
MAX_SEED = 2**32 - 1  # any non-negative integer seeds the API; the widget needs a bound


def _line(side: str) -> dict[str, str]:
    return {"color": COLORS[side], "dash": DASH[side]}


def _time_axis(span_s: float) -> tuple[float, str]:
    if span_s >= 3 * 86400:
        return 86400.0, "days"
    if span_s >= 3 * 3600:
        return 3600.0, "hours"
    if span_s >= 3 * 60:
        return 60.0, "minutes"
    return 1.0, "seconds"


def _label(side: str, scale: float, rescaled: bool, what: str) -> str:
    """The legend name: the generated side says how it relates to the source's rate."""
    if side == "source" or scale == 1:
        return side
    if rescaled:
        return f"generated ({what} {'÷' if what == 'rate' else 'x'} {scale:g})"
    return f"generated (at {scale:g}x the rate)"


def rate_figure(g: Generated, rescaled: bool) -> go.Figure:
    scale = g.result.rate_scale
    span = max(c.x[-1] for c in g.curves.rate.values()) + g.curves.rate_bin_s
    unit, name = _time_axis(span)
    fig = go.Figure()
    for side, c in g.curves.rate.items():
        k = 1 / scale if side == "generated" and rescaled else 1.0
        fig.add_scatter(
            x=[x / unit for x in c.x], y=[y * k for y in c.y], mode="lines", line_shape="hv",
            name=_label(side, scale, rescaled, "rate"), line={"color": COLORS[side], "width": 1},
            opacity=0.85,
        )  # fmt: skip
    fig.update_layout(
        title=f"Arrival rate ({ui.human_seconds(g.curves.rate_bin_s)} bins)",
        xaxis={"title": f"{name} since the start"},
        yaxis={"title": "arrivals per second"},
        template="plotly_white",
    )
    return fig


def iat_figure(g: Generated, rescaled: bool) -> go.Figure:
    scale = g.result.rate_scale
    fig = go.Figure()
    for side, c in g.curves.iat.items():
        k = scale if side == "generated" and rescaled else 1.0
        fig.add_scatter(
            x=[x * k for x in c.x], y=c.y, mode="lines",
            name=_label(side, scale, rescaled, "gaps"), line=_line(side),
        )  # fmt: skip
    fig.update_layout(
        title="Inter-arrival time CDF",
        xaxis={"title": "gap between arrivals (s, log scale)", "type": "log"},
        yaxis={"title": "share of gaps at or below", "range": [0, 1]},
        template="plotly_white",
    )
    return fig


def idc_figure(g: Generated) -> go.Figure:
    scale = g.result.rate_scale
    fig = go.Figure()
    ws: list[float] = []
    for side, c in g.curves.idc.items():
        ws += c.x
        fig.add_scatter(
            x=c.x, y=c.y, mode="lines+markers", name=_label(side, scale, False, "idc"),
            line=_line(side),
        )  # fmt: skip
    return ui.finish_idc_figure(fig, min(ws) if ws else None, max(ws) if ws else None)


def content_figure(column: str, pair: dict[str, Curve]) -> go.Figure:
    fig = go.Figure()
    positive = all(min(c.x) > 0 for c in pair.values())
    for side, c in pair.items():
        fig.add_scatter(
            x=c.x,
            y=c.y,
            mode="lines",
            line_shape="hv",
            name=side,
            line=_line(side),
        )
    what = generate_data.CONTENT_COLUMNS[column]
    fig.update_layout(
        title=f"CDF of {what}",
        xaxis={
            "title": what + (" (log scale)" if positive else ""),
            "type": "log" if positive else "linear",
        },
        yaxis={"title": "share at or below", "range": [0, 1]},
        template="plotly_white",
    )
    return fig


def _visible(node: Any) -> Any:
    """A describe() tree with every string (service names as keys too) shown as its text."""
    if isinstance(node, dict):
        return {escape.visible(k): _visible(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_visible(v) for v in node]
    return escape.visible(node) if isinstance(node, str) else node


def show(g: Generated) -> None:
    r = g.result
    st.markdown(
        f"**{r.events:,} {r.unit}** over {ui.human_seconds(r.duration_s)} at "
        f"{r.rate_scale:g}x the source's rate, seed {r.seed}, format "
        f"{escape.markdown_code(r.format)} ({r.seconds:.1f} s)."
    )
    st.markdown(f"**Arrival model:** {escape.markdown(r.arrivals)}")
    st.markdown(f"**Contents:** {escape.markdown(r.contents)}")
    with st.expander("The fitted model(s), as `describe()` returns them"):
        st.code(json.dumps(_visible(jsonable(r.models)), indent=2), language="json")

    st.subheader("Fidelity to the source")
    table = r.fidelity
    if table.passed:
        st.success(f"All {len(table.checked)} checked statistics are within their tolerances.")
    else:
        names = ", ".join(escape.markdown(s.name) for s in table.failed)
        st.warning(
            f"{len(table.failed)} of {len(table.checked)} checked statistics failed: {names}."
        )
    st.dataframe(
        generate_data.fidelity_styled(table),
        key="generate-fidelity",
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.4g")
            for c in ("source", "generated", "distance", "tolerance")
        },
    )
    for note in (*table.notes, *r.notes):
        st.caption(escape.markdown(note))

    st.subheader("Generated beside the source")
    rescaled = False
    if r.rate_scale != 1:
        rescaled = st.toggle(
            f"Scale the generated workload back to the source's rate (÷ {r.rate_scale:g})",
            value=True,
            key="generate-rescaled",
        )
    figures = [rate_figure(g, rescaled)] if g.curves.rate else []
    if g.curves.iat:
        figures.append(iat_figure(g, rescaled))
    if g.curves.idc:
        figures.append(idc_figure(g))
    figures += [content_figure(col, pair) for col, pair in g.curves.contents.items()]
    ui.show_figures(figures, key="generate")
    for note in g.curves.notes:
        st.caption(escape.markdown(note))
    if r.rate_scale != 1:
        st.caption(
            "The IDC curve is shown as generated: a busier process with the same relative rate "
            "curve has a larger IDC where the rate curve dominates (the table does not check it)."
        )

    if g.payload is None:
        st.info(
            f"The generated file is {g.size / 2**20:,.0f} MiB, too large to offer here: run "
            "`traces generate` with the same options to write it."
        )
    else:
        st.download_button(
            f"Download {escape.markdown(g.file_name)} ({g.size / 2**20:,.1f} MiB)",
            g.payload,
            file_name=g.file_name,
            key="generate-download",
        )


ref = ui.lake_or_stop()
st.title("Generate a workload")
st.caption(
    "A benchmark workload fitted to a trace of the lake (`traces generate`), at any rate "
    "scale and duration, scored against its source. The file is written to a temporary "
    "folder, never into the lake, and read back through our own adapter for the figures."
)
with_arrivals = data.arrival_traces(ref)
others = [t for t in data.traces(ref) if t not in with_arrivals]
options = [*with_arrivals, *others]
trace = ui.pick_trace("Trace", options, key="generate-trace")
if trace is None:
    ui.nothing_here("traces")
    st.stop()
if trace in others:
    st.caption("This trace has no timed arrivals the report can measure.")
choice = generate_data.choice(ref, trace)
if not choice.formats:
    st.error(escape.markdown(choice.problem or f"Trace {trace} cannot feed a generator."))
    st.stop()

left, right = st.columns(2)
with left:
    scale = st.select_slider(
        "Rate scale (x the source's arrival rate)", SCALES, value=1.0, key="generate-scale"
    )
    span = max(choice.span_s, 1.0)
    duration = st.number_input(
        "Duration (s; default: the source's span)",
        min_value=1.0,
        max_value=MAX_DURATION_S,  # the API refuses longer runs
        value=float(min(round(span, 3), MAX_DURATION_S)),
        step=float(max(1, round(span / 10))),
        key=f"generate-duration-{trace}",
    )
with right:
    seed = st.number_input(
        "Seed", min_value=0, max_value=MAX_SEED, value=0, step=1, key="generate-seed"
    )
    fmt = st.selectbox("Format", choice.formats, key=f"generate-format-{trace}")

params = (trace, float(scale), float(duration), int(seed), str(fmt))
if st.button("Generate", type="primary", key="generate-run"):
    st.session_state["generate-params"] = params
if st.session_state.get("generate-params") != params:
    st.info("Pick the options and press **Generate**.")
    st.stop()

# The source's own span is passed as None: the API then uses exactly the span it measures.
duration_s = None if abs(duration - round(span, 3)) < 1e-9 else float(duration)
try:
    with st.spinner("Fitting arrival models, generating and measuring fidelity..."):
        generated = generate_data.run(ref, trace, float(scale), duration_s, int(seed), str(fmt))
except (DataError, UsageError) as e:
    st.error(escape.markdown(str(e)))
    st.stop()
except MemoryError:
    # The API refuses runs over its event cap; a machine with less free memory can still fail.
    st.error(
        "This workload does not fit in the memory left on this machine: pick a shorter "
        "duration or a lower rate scale."
    )
    st.stop()
show(generated)
