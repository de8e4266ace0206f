"""`traces report`: every analysis of every trace -> one HTML page, JSON or Markdown.

The page is self-contained (plotly.js inline, once for all figures) so it opens offline and can
be mailed around; the JSON holds every section's numbers for scripts; the Markdown is for
READMEs. Output is deterministic for the same lake: no clocks, fixed figure ids, sorted keys.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.offline
import polars as pl

from analysis import burstiness, coldstarts, compare, failures, tokens
from analysis.db import LakeDB, TraceInfo, dumps, jsonable
from analysis.section import Section

Builder = Callable[[LakeDB, str], Section | None]
BUILDERS: tuple[tuple[str, Builder], ...] = (
    ("burstiness", burstiness.section),
    ("failures", failures.section),
    ("cold_starts", coldstarts.section),
    ("tokens", tokens.section),
)
FORMATS = ("html", "json", "md")
ProgressFn = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class TraceReport:
    info: TraceInfo
    sections: list[Section] = field(default_factory=list)


@dataclass
class Report:
    lake: Path | str
    traces: list[TraceReport]
    comparison: pl.DataFrame
    skipped: list[str]  # traces no analysis applies to (inventories, profiles, ...)


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
        for key, build in BUILDERS:
            if progress:
                progress(f"{name}: {key}", done, total)
            section = build(db, name)
            if section is not None:
                tr.sections.append(section)
            done += 1
        reports.append(tr)
    if progress:
        progress("comparison", total, total)
    comparison = compare.headline(db, {r.info.name: r.sections for r in reports})
    return Report(
        lake=db.lake.root,
        traces=[r for r in reports if r.sections],
        comparison=comparison,
        skipped=[r.info.name for r in reports if not r.sections],
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
    if df.is_empty():
        return ""

    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.{digits}g}"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.iter_rows()]
    return "\n".join(lines)


def to_markdown(report: Report) -> str:
    out = [
        "# Workload trace characterization",
        "",
        f"Lake: `{report.lake}`. {len(report.traces)} trace(s) characterized.",
        "",
        "## Traces side by side",
        "",
        _md_table(report.comparison),
        "",
    ]
    for tr in report.traces:
        out += [f"## {tr.info.name}", "", _trace_caption(tr.info), ""]
        for s in tr.sections:
            out += [f"### {s.title}", ""]
            out += [f"- {f}" for f in s.findings]
            out += [f"- *{n}*" for n in s.notes]
            out.append("")
            for title, df in s.tables.items():
                out += [f"**{title}**", "", _md_table(df.head(20)), ""]
    if report.skipped:
        out += ["## Not characterized", "", ", ".join(report.skipped), ""]
    return "\n".join(out)


# ---------------------------------------------------------------- HTML

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
.figs{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:8px}
details{margin:4px 0 10px}summary{cursor:pointer}
.tag{display:inline-block;font-size:11px;background:#fde2e1;color:#8a1c14;border-radius:3px;
padding:0 5px;margin-left:6px}
"""


def _html_table(df: pl.DataFrame, limit: int = 30) -> str:
    if df.is_empty():
        return ""

    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v:,}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
        for row in df.head(limit).iter_rows()
    )
    more = f"<p class=caption>{df.height - limit:,} more rows</p>" if df.height > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _html_table_block(title: str, df: pl.DataFrame) -> str:
    """Short tables inline; long ones folded, so that figures and findings lead the page."""
    label = f"<b>{html.escape(title)}</b>"
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


def _figure_html(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(
        template="plotly_white", height=360, margin={"l": 60, "r": 20, "t": 50, "b": 50}
    )
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        # No mode bar: it covers the titles; drag still zooms and double-click resets.
        config={"displayModeBar": False, "responsive": True},
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
            block.append(f"<h3>{html.escape(s.title)}</h3>")
            if s.findings:
                items = "".join(f"<li>{html.escape(f)}</li>" for f in s.findings)
                block.append(f"<ul class=findings>{items}</ul>")
            block += [f"<p class=note>{html.escape(note)}</p>" for note in s.notes]
            if s.figures:
                figs = []
                for fig in s.figures:
                    n += 1
                    figs.append(_figure_html(fig, f"fig-{n}"))
                block.append('<div class="figs">' + "".join(figs) + "</div>")
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
<p class=caption>Headline figures: arrival rate, inter-arrival CV, Hurst exponent (mean of the
estimators), failure ratio (any final status other than ok and unknown), median tokens and
median duration.</p>
{_html_table(report.comparison, limit=200)}</section>
{"".join(parts)}
{skipped}
</main></body></html>
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
