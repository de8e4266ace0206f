"""What every page shares: opening the lake (or saying how to fill it), pickers, sections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analysis import escape
from analysis.section import Section
from dashboards import data

# The trace picked last, on whichever page: other pages start on it when it applies there.
TRACE_KEY = "trace"
FIGURE_HEIGHT = 420


def how_to_ingest(ref: data.LakeRef, reason: str) -> None:
    st.warning(escape.markdown(reason))  # names the lake's path: text, not Markdown
    st.markdown(
        "The dashboard shows a **lake**: the Parquet folder `traces ingest` writes. "
        "Ingest some trace files into it, then reload this page:"
    )
    st.code(
        f"traces ingest ../shared/traces --lake {ref.path}\n"
        f"traces ingest my_trace.csv --source burstgpt --lake {ref.path}",
        language="sh",
    )
    st.markdown(
        "Or point the dashboard at a lake you already have: "
        "`traces dashboard --lake DIR`. `traces sources` lists every format it reads."
    )


def lake_or_stop() -> data.LakeRef:
    """The lake's cache key; without a usable lake, how to make one, and the page stops."""
    ref = data.lake_ref()
    problem = data.open_lake(ref)
    if problem is None and not data.traces(ref):
        problem = f"The lake at {ref.path} holds no traces yet."
    if problem is not None:
        how_to_ingest(ref, problem)
        st.stop()
    st.sidebar.caption(f"Lake: {escape.markdown_code(ref.path)} ({len(data.traces(ref))} traces)")
    return ref


def pick_trace(label: str, options: Sequence[str], key: str) -> str | None:
    """A trace picker that starts on the trace picked last on any page, when it is offered.

    The choice is also kept in the URL (?KEY=trace), so a view can be bookmarked or shared.
    """
    if not options:
        return None
    last = st.session_state.get(TRACE_KEY)
    index = list(options).index(last) if isinstance(last, str) and last in options else 0
    choice = st.selectbox(label, options, index=index, key=key, bind="query-params")
    st.session_state[TRACE_KEY] = choice
    return str(choice)


def nothing_here(what: str) -> None:
    st.info(f"No trace in this lake has {what}.")


def show_figures(figures: Sequence[go.Figure], key: str, columns: int = 2) -> None:
    """Figures in a grid; plotly's own zoom, pan and hover work on every one.

    Each is drawn from an escaped copy (`analysis.escape.figure`): service, tenant and trace
    names in legends, categories and titles show as text, never as plotly's label markup."""
    for start in range(0, len(figures), columns):
        cols = st.columns(columns)
        for i, fig in enumerate(figures[start : start + columns]):
            with cols[i]:
                height = fig.layout.height or FIGURE_HEIGHT
                st.plotly_chart(escape.figure(fig), key=f"{key}-fig-{start + i}", height=height)


def show_table(title: str, df: pl.DataFrame, key: str, expanded: bool = False) -> None:
    with st.expander(f"{escape.markdown(title)} ({df.height:,} rows)", expanded=expanded):
        st.dataframe(df, key=key, hide_index=True)


def show_section(
    section: Section,
    key: str,
    page_title: str = "",
    figures: Sequence[go.Figure] | None = None,
) -> None:
    """Findings first, then figures, caveats and tables: the order of the HTML report.

    `figures` replaces the section's own (a page that already showed some of them). Titles,
    findings and notes are plain sentences that may quote names from the trace: each is escaped
    (`analysis.escape.markdown`) so that it renders as exactly its text."""
    if section.title != page_title:
        st.subheader(escape.markdown(section.title))
    if section.findings:
        st.markdown("\n".join(f"- {escape.markdown(f)}" for f in section.findings))
    show_figures(section.figures if figures is None else figures, key)
    for note in section.notes:
        st.caption(escape.markdown(note))
    for title, df in section.tables.items():
        show_table(title, df, key=f"{key}-table-{title}")


def caption_of(ref: data.LakeRef, trace: str) -> str:
    """One line on where a trace came from and what its clock can resolve."""
    info = data.infos(ref)[trace]
    rows = ", ".join(f"{n:,} {t}" for t, n in info.tables.items())
    res = human_seconds(info.time_resolution_s)
    origin = {"relative": "relative time (anchored at 1970-01-01)", "none": "no timestamps"}
    fixture = " Schema fixture, not real data." if info.fixture_only else ""
    return (
        f"Source {escape.markdown_code(info.source)} ({escape.markdown(info.family)}); "
        f"{escape.markdown(rows)}; time resolution {res}; "
        f"{origin.get(info.time_origin, 'absolute time')}.{fixture}"
    )


def human_seconds(seconds: float | None) -> str:
    from analysis.burstiness_report import human_s

    if not seconds:
        return "none"
    return human_s(seconds) if seconds >= 1e-3 else f"{seconds * 1e6:g} µs"


def metric_number(value: Any, fmt: str | None = None) -> str:
    """A number for st.metric: `fmt`, else whole thousands or three significant digits."""
    if not (isinstance(value, int | float) and data.finite(value)):
        return "n/a"
    if fmt is None:
        fmt = "{:,.0f}" if abs(value) >= 1000 else "{:.3g}"
    return fmt.format(value)


def finish_idc_figure(fig: go.Figure, lo: float | None, hi: float | None) -> go.Figure:
    """The IDC figure's Poisson reference (IDC 1 from window lo to hi, when known) and its
    log-log axes: shared by the compare and generate pages."""
    if lo is not None and hi is not None:
        fig.add_scatter(
            x=[lo, hi], y=[1, 1], mode="lines", name="Poisson (IDC 1)",
            line={"dash": "dash", "color": "grey"},
        )  # fmt: skip
    fig.update_layout(
        title="Index of dispersion of counts",
        xaxis={"title": "window (s)", "type": "log"},
        yaxis={"title": "IDC = variance / mean of counts", "type": "log"},
        template="plotly_white",
    )
    return fig
