"""Overview: every trace in the lake with its family, span, rows, clock and data quality."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboards import data, ui


def _when(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")) if iso else None


def _span(first: datetime | None, last: datetime | None) -> str:
    if first is None or last is None:
        return ""
    return ui.human_seconds((last - first).total_seconds() or None)


def _traces(manifests: list[dict[str, Any]]) -> pl.DataFrame:
    rows = []
    for m in manifests:
        first, last = _when(m.get("ts_min")), _when(m.get("ts_max"))
        rows.append(
            {
                "trace": m["trace"],
                "family": m.get("family", ""),
                "tables": ", ".join(f"{t} {n:,}" for t, n in m["tables"].items()),
                "span": _span(first, last),
                "time resolution": ui.human_seconds(m.get("time_resolution_s")),
                "time origin": m.get("time_origin", ""),
                "first": first,
                "last": last,
                "rows": m["rows_written"],
                "rejected": m["rows_rejected"],
                "quality findings": len(m.get("quality", [])),
                "fixture": bool(m.get("fixture_only_source", False)),
                "source": m["source"],
                "ingested": m.get("ingested_at"),
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


def _problems(manifests: list[dict[str, Any]]) -> pl.DataFrame:
    """Rejected rows by problem slug and data-quality findings, one row each."""
    rows = [
        {"trace": m["trace"], "kind": "rejected rows", "table": "", "problem": slug,
         "rows": n, "detail": ""}
        for m in manifests
        for slug, n in sorted(m.get("problems", {}).items())
    ] + [
        {"trace": m["trace"], "kind": "kept, flagged", "table": q["table"], "problem": q["slug"],
         "rows": q.get("count"), "detail": q["detail"]}
        for m in manifests
        for q in m.get("quality", [])
    ]  # fmt: skip
    return pl.DataFrame(
        rows,
        schema={
            "trace": pl.String,
            "kind": pl.String,
            "table": pl.String,
            "problem": pl.String,
            "rows": pl.Int64,
            "detail": pl.String,
        },
    )


def _rows_figure(table: pl.DataFrame) -> go.Figure:
    fig = go.Figure()
    for family in sorted(table["family"].unique().to_list()):
        part = table.filter(pl.col("family") == family)
        fig.add_bar(
            x=part["rows"].to_list(), y=part["trace"].to_list(), orientation="h", name=family
        )
    fig.update_layout(
        title="Rows per trace",
        xaxis={"title": "rows written (log scale)", "type": "log"},
        yaxis={"autorange": "reversed", "automargin": True},
        legend_title_text="family",
        barmode="stack",
        template="plotly_white",
        height=max(360, 22 * table.height + 120),
    )
    return fig


ref = ui.lake_or_stop()
manifests = data.manifests(ref)
table = _traces(manifests)
problems = _problems(manifests)

st.title("Traces in the lake")
c1, c2, c3, c4 = st.columns(4)
c1.metric("traces", f"{table.height:,}")
c2.metric("rows", f"{int(table['rows'].sum()):,}")
c3.metric("rejected rows", f"{int(table['rejected'].sum()):,}")
c4.metric("families", f"{table['family'].n_unique():,}")
st.dataframe(table, key="overview-traces", hide_index=True)
st.caption(
    "Time resolution is the trace's clock: no analysis reports anything finer. Relative traces "
    "are anchored at 1970-01-01 UTC. Fixture traces follow a published schema but hold no real "
    "data."
)

st.subheader("Data quality")
if problems.is_empty():
    st.success("No rejected rows and no data-quality findings in any manifest.")
else:
    st.markdown(
        "Rejected rows are kept in `_rejected/` with their file, line and reason; flagged rows "
        "were kept in the lake. Counts come from each trace's manifest."
    )
    st.dataframe(problems, key="overview-problems", hide_index=True)

ui.show_figures([_rows_figure(table)], key="overview", columns=1)
