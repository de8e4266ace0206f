"""Tables a reader can trust, read from the rendered report: one number format per column in
every table of the sample lake's report (HTML and Markdown), no empty figures, and names whose
bidirectional controls would reorder the text shown with those controls made visible."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from analysis.db import LakeDB
from analysis.presentation import MISSING
from analysis.report import Report, build_report, render
from ingest.pipeline import ingest_paths

SCIENTIFIC = re.compile(r"^-?\d\.\d+e[+-]\d+$")
PLAIN = re.compile(r"^-?\d{1,3}(,\d{3})*(\.\d+)?$")
NOT_A_NUMBER = {"nan", "none", "inf", "-inf", "null"}


class _Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None


def html_tables(page: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def md_tables(md: str) -> list[list[list[str]]]:
    """GFM tables as rows of cells (header first, the |---| line left out)."""
    tables: list[list[list[str]]] = []
    run: list[list[str]] | None = None
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            if run is None:
                run = []
                tables.append(run)
            if not all(re.fullmatch(r"-+", c) for c in cells):
                run.append(cells)
        else:
            run = None
    return tables


def _decimals(cell: str) -> int:
    number = cell.split("e")[0]
    return len(number.split(".")[1]) if "." in number else 0


def format_problems(tables: list[list[list[str]]]) -> list[str]:
    """Every column whose number cells mix formats: scientific beside plain notation, integers
    beside decimals, different numbers of decimals; and every cell reading nan/None/inf."""
    problems = []
    for rows in tables:
        header, body = rows[0], rows[1:]
        for row in body:
            assert len(row) == len(header), (header, row)
        for i, name in enumerate(header):
            cells = [r[i].strip() for r in body]
            problems += [f"{header}: {name}: {c!r}" for c in cells if c.lower() in NOT_A_NUMBER]
            numbers = [c for c in cells if c != MISSING and (PLAIN.match(c) or SCIENTIFIC.match(c))]
            sci = {bool(SCIENTIFIC.match(c)) for c in numbers}
            decimals = {_decimals(c) for c in numbers}
            if len(sci) > 1 or len(decimals) > 1:
                problems.append(f"{header[:3]}: {name}: {numbers[:6]}")
    return problems


@pytest.fixture(scope="module")
def report(full_report: Report) -> Report:
    return full_report


@pytest.mark.slow
def test_every_column_of_every_report_table_has_one_format(report: Report) -> None:
    page = render(report, "html")
    tables = html_tables(page)
    shown = 1 + sum(
        not df.is_empty() for tr in report.traces for s in tr.sections for df in s.tables.values()
    )
    assert len(tables) == shown  # every table of every section, and the comparison
    assert format_problems(tables) == []
    # the reviewer's columns: ratios, iat_cv and rate_per_s of the comparison table
    comparison = tables[0]
    for column in ("rate_per_s", "iat_cv", "failure_ratio"):
        i = comparison[0].index(column)
        cells = [r[i] for r in comparison[1:] if r[i] != MISSING]
        assert len(cells) >= 5 and len({_decimals(c) for c in cells}) == 1, cells

    md = md_tables(render(report, "md"))
    assert len(md) == len(tables)
    assert format_problems(md) == []


def test_the_checks_catch_what_the_reviewer_saw() -> None:
    # The report before: cells formatted one by one to ~4 significant digits.
    before = [
        [["group", "n", "unsuccessful", "rate_per_s"]],
        [["a", "5", "0", "0.0006319"], ["b", "7", "1", "11.79"], ["c", "9", "0.01649", "1e-07"]],
    ]
    problems = format_problems([before[0] + before[1]])
    assert [p.split(": ")[1] for p in problems] == ["unsuccessful", "rate_per_s"]
    assert format_problems([[["x"], ["nan"]]]) == ["['x']: x: 'nan'"]


# ---------------------------------------------------------------- small traces, odd names


def _ingest(tmp_path: Path, name: str, text: str) -> Path:
    src = tmp_path / name
    src.write_text(text, encoding="utf-8")
    result = ingest_paths([src], tmp_path / "lake")
    assert not result.failures, result.failures
    return tmp_path / "lake"


def test_a_one_row_trace_gets_no_empty_figure(tmp_path: Path) -> None:
    lake = _ingest(
        tmp_path,
        "AzureLLMInferenceTrace_conv.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n",
    )
    db = LakeDB(lake)
    try:
        report = build_report(db)
    finally:
        db.close()
    (tr,) = report.traces
    tokens = next(s for s in tr.sections if s.key == "tokens")
    # one request: a CDF of one point draws no line, so there is no CDF figure at all
    assert not [f for f in tokens.figures if "CDF" in (f.layout.title.text or "")]
    assert "Token length CDFs" not in render(report, "html")
    # ... and its numbers are still shown, in the tables
    lengths = tokens.tables["Token lengths"]
    assert lengths["n"].to_list() == [1, 1] and lengths["p50"].to_list() == [374.0, 44.0]


BIDI = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "evil\u202egnp.exe" reads "evilexe.png"
NAMES = {f"evil{BIDI}gnp.exe": "evil[U+202E]gnp.exe", "a\u2066b\u2069c": "a[U+2066]b[U+2069]c"}
CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def test_bidi_controls_in_names_are_shown_not_obeyed(tmp_path: Path) -> None:
    header = "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,"
    header += "Total tokens,Log Type"
    rows = []
    for i in range(80):
        name = list(NAMES)[i % 2]
        out = 0 if i % 10 == 0 else 100 + i
        rows.append([f"{2 * i}.0", f"s{i % 3}", 1, name, 200 + i, out, 300 + 2 * i, "API log"])
    path = tmp_path / "BurstGPT_bidi.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        f.write(header + "\n")
        csv.writer(f, lineterminator="\n").writerows(rows)
    result = ingest_paths([path], tmp_path / "lake")
    assert not result.failures, result.failures
    db = LakeDB(tmp_path / "lake")
    try:
        report = build_report(db)
    finally:
        db.close()
    page, md = render(report, "html"), render(report, "md")
    for text in (page, md):
        assert not CONTROLS.search(text)
    for shown in NAMES.values():
        assert shown in page  # in the tables by service, with the control visible
        assert shown.replace("[", "\\[").replace("]", "\\]") in md
    # figures' JSON: escaped as JSON, the control would still be drawn; it is never there
    specs = re.findall(r'id="fig-\d+-spec">(.*?)</script>', page, re.S)
    assert specs
    labels = json.dumps([json.loads(s.replace("<\\/", "</")) for s in specs], ensure_ascii=False)
    assert not CONTROLS.search(labels) and "evil[U+202E]gnp.exe" in labels
