"""Data is never markup: hostile service names in the Markdown and HTML reports.

The lake holds one BurstGPT trace whose `Model` values are Markdown images and links, HTML
tags and table pipes (tests/hostile_lake.py). Each report is read the way its reader's tool
reads it (a Markdown renderer, an HTML parser, plotly's JSON) and must show the names as text:
no image fetched, no link, no script, no broken table.
"""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import pytest

from analysis.db import LakeDB
from analysis.report import Report, build_report, render
from tests import hostile_lake
from tests.hostile_lake import ACTIVE_TAGS, NAMES, Rendered, render_markdown


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    hostile_lake.build(folder)
    return folder


@pytest.fixture(scope="module")
def report(folder: Path) -> Report:
    db = LakeDB(folder / "lake")
    try:
        return build_report(db)
    finally:
        db.close()


def _failed_share_from_csv(path: Path) -> dict[str, float]:
    """Share of each service's requests with a zero-token response, counted from the file."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {
        name: sum(r["Response tokens"] == "0" for r in rows if r["Model"] == name)
        / sum(r["Model"] == name for r in rows)
        for name in {r["Model"] for r in rows}
    }


def _md_tables(md: str) -> list[list[str]]:
    """Markdown tables as their lines (runs of lines starting with `|`)."""
    tables: list[list[str]] = []
    run: list[str] = []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            run.append(line)
        elif run:
            tables.append(run)
            run = []
    return tables


def test_markdown_report_shows_names_as_text(report: Report, folder: Path) -> None:
    md = render(report, "md")
    assert "![" not in md
    assert "<" not in md  # no HTML from data at all: `<` is written as a character reference
    shown = render_markdown(md)
    assert not ACTIVE_TAGS & set(shown.tags), ACTIVE_TAGS & set(shown.tags)
    assert not [v for v in shown.attr_values if "javascript:" in v]
    for name in NAMES:
        assert name in shown.text  # in the tables by service, as typed

    # The failure finding names the service that fails most (cut to 24 characters) as text.
    shares = _failed_share_from_csv(folder / "BurstGPT_hostile.csv")
    worst = max(shares, key=lambda n: shares[n])
    assert worst.startswith("![x]") and shares[worst] == pytest.approx(0.4)
    assert f"By service, {worst[:21]}... has the highest unsuccessful share: 40.0%" in shown.text


def test_markdown_table_cells_stay_in_their_columns(report: Report) -> None:
    md = render(report, "md")
    unescaped_pipe = re.compile(r"(?<!\\)\|")
    tables = _md_tables(md)
    assert tables
    for lines in tables:
        widths = {len(unescaped_pipe.findall(line)) for line in lines}
        assert len(widths) == 1, lines
    # Rendered, the name with a pipe and backticks is one cell's text, not a code span (the
    # only code span is the lake's path).
    shown = render_markdown(md)
    assert "a|b `tick`" in shown.text and shown.tags.count("code") == 1


def test_html_report_shows_names_as_text(report: Report) -> None:
    page = render(report, "html")
    for name in NAMES:
        if "<" in name:
            assert name not in page  # neither in the page nor in any figure's JSON
    shown = Rendered(page)
    assert "img" not in shown.tags and "iframe" not in shown.tags
    assert not [v for v in shown.attr_values if "javascript:" in v.lower()]
    for name in NAMES:
        assert name in shown.text  # tables and findings show the name itself

    # Figures: plotly draws a subset of HTML in names, categories and titles (a link from
    # `<a href>`), and decodes character references. Every label from data is escaped, so
    # what plotly draws is the name itself.
    specs = [
        json.loads(body.replace("<\\/", "</"))
        for body in re.findall(r'<script type="application/json" id="fig-\d+-spec">(.*?)</script>',
                               page, re.S)
    ]  # fmt: skip
    assert specs
    legend = [html.unescape(t["name"]) for s in specs for t in s["data"] if t.get("name")]
    assert any(n.startswith("<img src=http") for n in legend), legend
    assert any(n.startswith("<a href=") for n in legend), legend
    for spec in specs:
        for text in _strings(spec):
            assert not re.search(r"<(?!/?(br|extra|b|i|sup|sub)>)", text), text


def _strings(node: object, key: str = "") -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in _strings(v, k)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v, key)]
    return []
