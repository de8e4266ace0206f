"""`traces report`: every analysis of every trace -> one HTML page, JSON or Markdown.

The page is self-contained (plotly.js inline, once for all figures) so it opens offline and can
be mailed around; the JSON holds every section's numbers for scripts; the Markdown is for
READMEs. Output is deterministic for the same lake: no clocks, fixed figure ids, sorted keys.
"""

from __future__ import annotations

import html
import json
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io
import plotly.offline
import polars as pl

from analysis import (
    burstiness,
    burstiness_report,
    clients,
    clients_report,
    coldstarts,
    coldstarts_report,
    compare,
    escape,
    failures,
    failures_report,
    inventory,
    inventory_report,
    lineage,
    lineage_report,
    profiles,
    profiles_report,
    stragglers,
    stragglers_report,
    tokens,
    tokens_report,
    utilization,
    utilization_report,
    variability,
    variability_report,
)
from analysis.db import LakeDB, TraceInfo, dumps, jsonable
from analysis.presentation import column_formats
from analysis.section import Analysis, Section

# Every analysis of the report, in the order of the sections: (key, compute, presentation).
# A new analysis adds one line here (see analysis/section.py for the two steps).
BUILDERS: tuple[Analysis[Any], ...] = (
    # first, so that a derived copy is named before its figures repeat the original's
    Analysis("lineage", lineage.compute, lineage_report.section),
    Analysis("burstiness", burstiness.compute, burstiness_report.section),
    Analysis("failures", failures.compute, failures_report.section),
    Analysis("cold_starts", coldstarts.compute, coldstarts_report.section),
    Analysis("tokens", tokens.compute, tokens_report.section),
    Analysis("utilization", utilization.compute, utilization_report.section),
    Analysis("clients", clients.compute, clients_report.section),
    Analysis("variability", variability.compute, variability_report.section),
    Analysis("stragglers", stragglers.compute, stragglers_report.section),
    Analysis("profiles", profiles.compute, profiles_report.section),
    Analysis("inventory", inventory.compute, inventory_report.section),
)
FORMATS = ("html", "json", "md")
ProgressFn = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class TraceReport:
    info: TraceInfo
    sections: list[Section] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)  # key -> the analysis's typed result


@dataclass
class Report:
    lake: Path | str
    traces: list[TraceReport]
    comparison: pl.DataFrame
    skipped: list[str]  # traces no analysis applies to (inventories, profiles, ...)
    comparison_notes: list[str] = field(default_factory=list)  # why cells are empty


def comparison_inputs(tr: TraceReport) -> compare.TraceResults:
    """The typed results the comparison table reads, from one trace's results."""
    r = tr.results
    return compare.TraceResults(
        burstiness=r.get("burstiness"), failures=r.get("failures"), tokens=r.get("tokens")
    )


def build_report(
    db: LakeDB, traces: Sequence[str] | None = None, progress: ProgressFn | None = None
) -> Report:
    """Run every applicable analysis on every selected trace (all traces by default)."""
    names = list(traces) if traces else db.traces()
    for name in names:
        db.info(name)  # unknown names fail before any work, with the list of known ones
    total = len(names) * len(BUILDERS)
    done = 0
    reports = []
    for name in names:
        tr = TraceReport(db.info(name))
        for analysis in BUILDERS:
            if progress:
                progress(f"{name}: {analysis.key}", done, total)
            ran = analysis.run(db, name)
            if ran is not None:
                tr.results[analysis.key], section = ran
                tr.sections.append(section)
            done += 1
        reports.append(tr)
    if progress:
        progress("comparison", total, total)
    characterized = [r for r in reports if r.sections]
    comparison = compare.headline(db, {r.info.name: comparison_inputs(r) for r in characterized})
    return Report(
        lake=db.lake.root,
        traces=characterized,
        comparison=comparison,
        skipped=[r.info.name for r in reports if not r.sections],
        comparison_notes=compare.notes(comparison),
    )


# ---------------------------------------------------------------- JSON


def to_json(report: Report) -> dict[str, Any]:
    return {
        "traces": {
            tr.info.name: {
                "source": tr.info.source,
                "family": tr.info.family,
                "time_resolution_s": tr.info.time_resolution_s,
                "time_origin": tr.info.time_origin,
                "fixture_only": tr.info.fixture_only,
                **{s.key: s.numbers for s in tr.sections},
                "findings": [f for s in tr.sections for f in s.findings],
            }
            for tr in report.traces
        },
        "comparison": report.comparison.to_dicts(),
        "not_characterized": report.skipped,
    }


# ---------------------------------------------------------------- Markdown


def _md_table(df: pl.DataFrame, digits: int = 3) -> str:
    """A GFM table; every text cell and header escaped (`|`, line breaks, markup from data)."""
    if df.is_empty():
        return ""

    # one number format per column, missing values as an em dash (analysis.presentation)
    formats = column_formats(df)
    numeric = {c for c, t in df.schema.items() if t.is_numeric()}

    def cell(column: str, v: Any) -> str:
        if v is None or column in numeric:
            return formats[column](v)
        if isinstance(v, int | date | timedelta):  # bool is an int; datetime is a date
            return str(v)
        return escape.table_cell(v)

    header = " | ".join(escape.table_cell(c) for c in df.columns)
    lines = [f"| {header} |", "|" + "---|" * len(df.columns)]
    lines += [
        "| " + " | ".join(cell(c, v) for c, v in zip(df.columns, row, strict=True)) + " |"
        for row in df.iter_rows()
    ]
    return "\n".join(lines)


def to_markdown(report: Report) -> str:
    """The report as Markdown. Everything a trace supplies (names, findings built from its
    groups, table cells) is escaped: it renders as the text it is, never as links, images or
    HTML."""
    md = escape.markdown
    out = [
        "# Workload trace characterization",
        "",
        f"Lake: {escape.markdown_code(report.lake)}. {len(report.traces)} trace(s) characterized.",
        "",
        "## Traces side by side",
        "",
        md(compare.CAPTION),
        "",
        _md_table(report.comparison),
        "",
        *[f"- *{md(n)}*" for n in report.comparison_notes],
        "",
    ]
    for tr in report.traces:
        out += [f"## {md(tr.info.name)}", "", md(_trace_caption(tr.info)), ""]
        for s in tr.sections:
            out += [f"### {md(s.title)}", ""]
            out += [f"- {md(f)}" for f in s.findings]
            out += [f"- *{md(n)}*" for n in s.notes]
            out.append("")
            for title, df in s.tables.items():
                if not df.is_empty():  # a title over nothing reads as a broken table
                    out += [f"**{md(title)}**", "", _md_table(df.head(20)), ""]
    if report.skipped:
        out += ["## Not characterized", "", ", ".join(md(t) for t in report.skipped), ""]
    return "\n".join(out)


# ---------------------------------------------------------------- HTML

# Figures sit two to a row in columns of minmax(0, 1fr), which never widen for what is drawn
# in them, and one to a row below 1,080 px, where two would be narrower than ~480 px; wide
# tables scroll inside their own box instead of making the page scroll sideways.
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2733;
background:#f6f7f9}
header{background:#1d2733;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#b8c2cc}
nav{padding:8px 32px;background:#e9edf1;font-size:14px}nav a{margin-right:14px;color:#1d4e89}
main{padding:8px 32px 48px;max-width:1200px}
section.trace{background:#fff;border:1px solid #dde2e7;border-radius:6px;padding:8px 20px 16px;
margin:20px 0}
h2{font-size:20px;margin:12px 0 4px}h3{font-size:16px;margin:18px 0 6px;color:#2c3e50}
.caption{color:#5b6b7b;font-size:13px;margin:0 0 8px}
ul.findings{margin:4px 0 8px 0;padding-left:20px}ul.findings li{margin:2px 0}
p.note{font-size:12px;color:#8a5a00;background:#fff6e0;padding:4px 8px;border-radius:4px}
table{border-collapse:collapse;font-size:12px;margin:6px 0 12px}
th,td{border:1px solid #dde2e7;padding:3px 8px;text-align:right}
th{background:#f0f3f6}td:first-child,th:first-child{text-align:left}
.figs{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:8px}
.figs.single{grid-template-columns:minmax(0,1fr)}.fig{min-width:0}
table{display:block;max-width:100%;overflow-x:auto}
@media (max-width:1080px){.figs{grid-template-columns:minmax(0,1fr)}}
@media (max-width:640px){header,nav{padding-left:12px;padding-right:12px}
main{padding:4px 8px 32px}section.trace{padding:6px 10px 12px}}
details{margin:4px 0 10px}summary{cursor:pointer}
.tag{display:inline-block;font-size:11px;background:#fde2e1;color:#8a1c14;border-radius:3px;
padding:0 5px;margin-left:6px}
"""


def _html_table(df: pl.DataFrame, limit: int = 30) -> str:
    if df.is_empty():
        return ""

    # one number format per column, missing values as an em dash (analysis.presentation)
    formats = column_formats(df)
    numeric = {c for c, t in df.schema.items() if t.is_numeric()}

    def cell(column: str, v: Any) -> str:
        if v is None or column in numeric:
            return formats[column](v)
        return escape.html_text(v)

    head = "".join(f"<th>{escape.html_text(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{cell(c, v)}</td>" for c, v in zip(df.columns, row, strict=True))
        + "</tr>"
        for row in df.head(limit).iter_rows()
    )
    more = f"<p class=caption>{df.height - limit:,} more rows</p>" if df.height > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _html_table_block(title: str, df: pl.DataFrame) -> str:
    """Short tables inline; long ones folded, so that figures and findings lead the page."""
    label = f"<b>{escape.html_text(title)}</b>"
    if df.height <= 12:
        return f"<p class=caption>{label}</p>{_html_table(df)}"
    return (
        f"<details><summary class=caption>{label} ({df.height:,} rows)</summary>"
        f"{_html_table(df)}</details>"
    )


def _resolution(seconds: float | None) -> str:
    if not seconds:
        return "none"
    for unit, size in (("h", 3600.0), ("min", 60.0), ("s", 1.0), ("ms", 1e-3)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds * 1e6:g} µs"


def _trace_caption(info: TraceInfo) -> str:
    res = _resolution(info.time_resolution_s)
    origin = {"relative": "relative time (anchored at 1970-01-01)", "none": "no timestamps"}
    rows = ", ".join(f"{n:,} {t}" for t, n in info.tables.items())
    fixture = (
        " Fixture written to the published schema, not real data." if info.fixture_only else ""
    )
    return (
        f"Source {info.source} ({info.family}); {rows}; time resolution {res}; "
        f"{origin.get(info.time_origin, 'absolute time')}.{fixture}"
    )


# Every figure is drawn by the page script below once the whole page (and so the grid) exists,
# at the width of its cell, and redrawn whenever that width changes. Plotted inline while the
# page was still being parsed, the first figure of a row took the whole row's width.
_FIGURE_HEIGHT = 380  # px, grown for a long legend; the width always follows the cell
# Title lines of at most this many characters fit the narrowest cell the grid makes (~480 px) at
# 15 px, and a y-axis title fits along the plot's height (~230 px) at 14 px.
_TITLE_LINE_CHARS = 56
_X_TITLE_LINE_CHARS = 60
_Y_TITLE_LINE_CHARS = 38
_NARROWEST_PLOT_PX = 440  # a legend's width in the narrowest cell
_LEGEND_CHAR_PX = 7  # an average character of a legend entry (12 px)
_LEGEND_ROW_PX = 19
_FIGURE_CONFIG = {"displayModeBar": False, "responsive": True}  # the mode bar covers titles
_PAGE_JS = """
(function () {
  "use strict";
  var TEMPLATE = JSON.parse(document.getElementById("figure-template").textContent);
  var CONFIG = %(config)s;
  var MIN_PLOT = 200; // px: the shortest plot area worth reading values off

  // A figure whose legend, tick labels or titles leave its plot less than MIN_PLOT px (or less
  // than its y-axis title is long) grows taller; it shrinks back to its own height when a wider
  // cell gives the plot room again.
  function fitHeight(gd) {
    var full = gd._fullLayout;
    var need = MIN_PLOT;
    gd.querySelectorAll("text").forEach(function (t) {
      if (/^y[0-9]*title$/.test(t.getAttribute("class") || "")) {
        need = Math.max(need, t.getBoundingClientRect().height + 8);
      }
    });
    var height = Math.round(Math.max(gd._ownHeight, full.height + need - full._size.h));
    if (Math.abs(height - full.height) < 2) return Promise.resolve();
    gd.style.height = height + "px";
    return Plotly.relayout(gd, {height: height});
  }

  function plot(gd, spec) {
    try {
      return Promise.resolve(Plotly.newPlot(gd, spec.data, spec.layout, CONFIG));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  function draw() {
    // Redraw a figure when its cell's width changes: window resizes, the grid collapsing to one
    // column, fonts arriving. Plotly's own `responsive` handler sees only window resizes.
    var observer = new ResizeObserver(function (entries) {
      entries.forEach(function (entry) {
        var gd = entry.target, full = gd._fullLayout;
        if (full && Math.round(entry.contentRect.width) !== Math.round(full.width)) {
          // Back to its own height, both sizes from the div again (a grown figure has them
          // fixed, and plotly's resize leaves alone a figure whose sizes are both fixed).
          gd.style.height = gd._ownHeight + "px";
          delete gd.layout.width;
          delete gd.layout.height;
          Plotly.Plots.resize(gd).then(function () { return fitHeight(gd); });
        }
      });
    });
    document.querySelectorAll("div.report-figure").forEach(function (gd) {
      var spec = JSON.parse(document.getElementById(gd.id + "-spec").textContent);
      spec.layout.template = TEMPLATE;
      gd._ownHeight = spec.layout.height;
      plot(gd, spec)
        .catch(function () {
          // The legend left the plot no room (a very narrow window): plotly's own placement,
          // which gives up margin rather than the plot. One figure never stops the others.
          Plotly.purge(gd);
          spec.layout.legend = {title: (spec.layout.legend || {}).title};
          return plot(gd, spec);
        })
        .then(function () {
          return fitHeight(gd);
        })
        .then(function () {
          observer.observe(gd);
        }, function (err) {
          gd.setAttribute("data-figure-error", String(err));
          gd.textContent = "This figure could not be drawn: " + err;
        });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
"""


def _json_script(element_id: str, text: str) -> str:
    """JSON in a <script> element that the page reads back; `</` is escaped so that no string
    in the data can close the element."""
    body = text.replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{body}</script>'


def _fit_figure(fig: go.Figure) -> go.Figure:
    """The report's layout policy, applied to a copy of each figure (the section keeps its own):
    no fixed width; titles wrapped into lines that fit the narrowest cell; the legend a
    horizontal strip along the bottom edge, the figure taller by the rows it takes beyond two;
    titles, tick labels and the legend pushing the margins (automargin) instead of being cut at
    the figure's edge. Applied here, for every analysis at once, rather than in each module
    that builds figures; the page script grows a figure whose plot is still squeezed."""
    fig = go.Figure(fig)
    fig.layout.template = None  # the page holds one copy of the template for all figures
    fig.layout.width = None
    fig.update_layout(
        autosize=True,
        height=_FIGURE_HEIGHT + _LEGEND_ROW_PX * max(0, _legend_rows(fig) - 2),
        margin={"l": 10, "r": 10, "t": 10, "b": 10, "autoexpand": True},
        title={
            "text": _wrap(fig.layout.title.text, _TITLE_LINE_CHARS),
            "font": {"size": 15},
            "x": 0,
            "xanchor": "left",
            "xref": "container",
            "pad": {"l": 10, "b": 12},  # clear of the top tick label, which overhangs the plot
            "y": 1,
            "yanchor": "bottom",
            "yref": "paper",
            "automargin": True,
        },
        # Against the figure's bottom edge (`container`) rather than the plot's, so that plotly
        # reserves the legend's room in the margin and the plot never runs under it.
        legend={
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "xref": "container",
            "y": 0,
            "yanchor": "bottom",
            "yref": "container",
        },
    )
    fig.for_each_xaxis(
        lambda ax: ax.update(automargin=True, title_text=_wrap(ax.title.text, _X_TITLE_LINE_CHARS))
    )
    fig.for_each_yaxis(
        lambda ax: ax.update(automargin=True, title_text=_wrap(ax.title.text, _Y_TITLE_LINE_CHARS))
    )
    return fig


def _legend_rows(fig: go.Figure) -> int:
    """Rows the horizontal legend takes in the narrowest cell: plotly wraps the entries into
    columns as wide as the widest entry."""
    names = [t.name or "" for t in fig.data if t.showlegend is not False]
    if not names or (len(names) == 1 and fig.layout.showlegend is not True):
        return 0
    title = _LEGEND_CHAR_PX * len(fig.layout.legend.title.text or "")
    widest = _LEGEND_CHAR_PX * max(len(n) for n in names) + 40  # + the symbol and the gap
    per_row = max(1, (_NARROWEST_PLOT_PX - title) // widest)
    return -(-len(names) // per_row)


def _wrap(text: str | None, width: int) -> str | None:
    """A title broken into lines of at most `width` characters (plotly never wraps text);
    titles that carry their own markup (<br>, <sup>) are left as they are."""
    if not text or "<" in text:
        return text
    return "<br>".join(textwrap.wrap(text, width, break_on_hyphens=False))


def _figure_html(fig: go.Figure, div_id: str) -> str:
    """A figure's cell: an empty div the page script draws into, and the figure as JSON."""
    fitted = _fit_figure(escape.figure(fig))  # names from data: text, not markup
    return (
        f'<div class="fig"><div id="{div_id}" class="report-figure" '
        f'style="width:100%;height:{fitted.layout.height}px"></div>'
        f"{_json_script(div_id + '-spec', fitted.to_json())}</div>"
    )


def _page_script() -> str:
    """The figures' shared template (one copy, not one per figure) and the script drawing them."""
    template = plotly.io.templates["plotly_white"].to_plotly_json()
    compact = json.dumps(template, separators=(",", ":"), sort_keys=True)
    config = json.dumps(_FIGURE_CONFIG, sort_keys=True)
    return _json_script("figure-template", compact) + (
        "<script>" + _PAGE_JS % {"config": config} + "</script>"
    )


def to_html(report: Report) -> str:
    parts = []
    n = 0
    for tr in report.traces:
        name = html.escape(tr.info.name)
        tag = '<span class="tag">fixture</span>' if tr.info.fixture_only else ""
        block = [
            f'<section class="trace" id="{name}"><h2>{name}{tag}</h2>',
            f"<p class=caption>{html.escape(_trace_caption(tr.info))}</p>",
        ]
        for s in tr.sections:
            block.append(f"<h3>{escape.html_text(s.title)}</h3>")
            if s.findings:
                items = "".join(f"<li>{escape.html_text(f)}</li>" for f in s.findings)
                block.append(f"<ul class=findings>{items}</ul>")
            block += [f"<p class=note>{escape.html_text(note)}</p>" for note in s.notes]
            if s.figures:
                figs = []
                for fig in s.figures:
                    n += 1
                    figs.append(_figure_html(fig, f"fig-{n}"))
                single = " single" if len(figs) == 1 else ""
                block.append(f'<div class="figs{single}">' + "".join(figs) + "</div>")
            for title, df in s.tables.items():
                block.append(_html_table_block(title, df))
        block.append("</section>")
        parts.append("\n".join(block))
    nav = " ".join(
        f'<a href="#{html.escape(tr.info.name)}">{html.escape(tr.info.name)}</a>'
        for tr in report.traces
    )
    skipped = ""
    if report.skipped:
        skipped = (
            "<section class=trace><h2>Not characterized</h2><p class=caption>These traces hold "
            "inventories, profiles or summaries that none of the analyses apply to: "
            + html.escape(", ".join(report.skipped))
            + ".</p></section>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Workload trace characterization</title>
<style>{_CSS}</style>
<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>
</head><body>
<header><h1>Workload trace characterization</h1>
<p>{len(report.traces)} trace(s) from the lake at {html.escape(str(report.lake))}.
Made by workload-traces; works offline.</p></header>
<nav><a href="#comparison">Side by side</a> {nav}</nav>
<main>
<section class="trace" id="comparison"><h2>Traces side by side</h2>
<p class=caption>{html.escape(compare.CAPTION)}</p>
{_html_table(report.comparison, limit=200)}
{"".join(f"<p class=note>{html.escape(n)}</p>" for n in report.comparison_notes)}</section>
{"".join(parts)}
{skipped}
</main>
{_page_script()}
</body></html>
"""


def render(report: Report, fmt: str) -> str:
    if fmt == "html":
        return to_html(report)
    if fmt == "json":
        return dumps(to_json(report)) + "\n"
    if fmt == "md":
        return to_markdown(report)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def write_report(
    lake_dir: Path | str,
    out: Path,
    fmt: str = "html",
    traces: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
    engine: str = "duckdb",
) -> Report:
    """Build the report for the lake and write it to `out` in `fmt`, the queries run by
    `engine` (`duckdb`, the default, or `spark`: see analysis/engines.py)."""
    db = LakeDB(lake_dir, engine=engine)
    try:
        report = build_report(db, traces, progress)
    finally:
        db.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render(report, fmt), encoding="utf-8")
    tmp.replace(out)
    return report


__all__ = ["Report", "build_report", "jsonable", "render", "to_json", "write_report"]
