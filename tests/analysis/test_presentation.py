"""What a reader sees: one number format per column, em dashes with reasons, group sizes on
per-group bars and rows, relative-time traces plotted as time since their start."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from analysis import burstiness, burstiness_report, presentation
from analysis.db import LakeDB
from analysis.presentation import MISSING, formatted_rows, time_axis
from analysis.report import build_report, render
from analysis.section import Section
from ingest.pipeline import ingest_paths
from tests.analysis.conftest import section_of
from traces_cli import _metric_cells

SCIENTIFIC = re.compile(r"^-?\d\.\d+e[+-]\d+$")
PLAIN = re.compile(r"^-?[\d,]+(\.\d+)?$")


# ---------------------------------------------------------------- number formats


def test_integers_get_thousands_separators_and_missing_values_a_dash() -> None:
    df = pl.DataFrame(
        {"n": [1234567, None], "share": [0.25, float("nan")], "name": ["a", None]},
        schema={"n": pl.Int64, "share": pl.Float64, "name": pl.String},
    )
    assert formatted_rows(df) == [["1,234,567", "0.25", "a"], [MISSING, MISSING, MISSING]]


def test_a_float_column_of_whole_numbers_reads_as_integers() -> None:
    df = pl.DataFrame({"events": [3.0, 12000.0, 0.0]})
    assert [r[0] for r in formatted_rows(df)] == ["3", "12,000", "0"]


def test_a_column_with_a_tiny_or_huge_value_is_all_scientific() -> None:
    df = pl.DataFrame({"x": [1e-8, 1.0, 3600.5], "y": [2.5e13, 1.5, 0.0]})
    assert formatted_rows(df) == [
        ["1.00e-08", "2.50e+13"],
        ["1.00e+00", "1.50e+00"],
        ["3.60e+03", "0.00e+00"],
    ]


def test_floats_read_plainly_to_four_significant_digits() -> None:
    df = pl.DataFrame({"p50": [1021.5, 129.25, 3.5, 0.000632, 0.0]})
    assert [r[0] for r in formatted_rows(df)] == ["1,022", "129.2", "3.5", "0.000632", "0"]


@settings(max_examples=200, deadline=None)
@given(
    hs.lists(
        hs.one_of(
            hs.none(),
            hs.just(math.nan),
            hs.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_one_format_per_column(values: list[float | None]) -> None:
    df = pl.DataFrame({"x": values}, schema={"x": pl.Float64})
    cells = [r[0] for r in formatted_rows(df)]
    shown = [c for c in cells if c != MISSING]
    # never scientific notation beside plain numbers, never "nan" or "None"
    assert all(SCIENTIFIC.match(c) for c in shown) or all(PLAIN.match(c) for c in shown), cells
    for v, c in zip(values, cells, strict=True):
        assert (c == MISSING) == (v is None or math.isnan(v))


def test_train_prints_counts_as_integers() -> None:
    assert _metric_cells([12345.0, 20000.0, None]) == ["12,345", "20,000", "-"]
    assert _metric_cells([0.1234567, 2.0]) == ["0.1235", "2"]


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


def _numeric_columns(rows: list[list[str]]) -> dict[str, list[str]]:
    header, body = rows[0], rows[1:]
    out = {}
    for i, name in enumerate(header):
        cells = [r[i] for r in body if i < len(r) and r[i] != MISSING]
        if cells and all(SCIENTIFIC.match(c) or PLAIN.match(c) for c in cells):
            out[name] = cells
    return out


def test_report_tables_have_one_format_per_column(sample_lake: Path) -> None:
    db = LakeDB(sample_lake)
    try:
        report = build_report(
            db, ["google_2011_jobs", "azure_functions_2019", "mooncake_conversation"]
        )
    finally:
        db.close()
    parser = _Tables()
    parser.feed(render(report, "html"))
    assert len(parser.tables) >= 10
    for rows in parser.tables:
        for cell in (c for r in rows for c in r):
            assert cell.strip() not in ("nan", "None", "NaN", "inf"), rows[0]
        for name, cells in _numeric_columns(rows).items():
            sci = [bool(SCIENTIFIC.match(c)) for c in cells]
            assert all(sci) or not any(sci), (rows[0], name, cells)
    md = render(report, "md")
    assert "| nan |" not in md and "| None |" not in md


# ---------------------------------------------------------------- em dashes and their reasons


def test_a_constant_rate_group_has_no_hurst_and_says_why(tmp_path: Path) -> None:
    # Azure Functions 2019 layout: app X is invoked twice every minute, app Y in bursts.
    header = "HashOwner,HashApp,HashFunction,Trigger," + ",".join(str(m) for m in range(1, 401))
    a = "o1,X,a,timer," + ",".join("2" for _ in range(400))
    b = "o2,Y,b,http," + ",".join("8" if m % 10 == 1 else "0" for m in range(1, 401))
    src = tmp_path / "invocations_per_function_md.anon.d01.csv"
    src.write_text(f"{header}\n{a}\n{b}\n")
    assert not ingest_paths([src], tmp_path / "lake").failures
    db = LakeDB(tmp_path / "lake")
    try:
        result = burstiness.compute(db, "azure_functions_2019")
    finally:
        db.close()
    assert result is not None
    x = result.groups["service"]["X"]
    assert math.isnan(x.hurst_aggregated_variance) and x.hurst_undefined == (
        "constant counts (no variance)"
    )
    sec = burstiness_report.section(result)
    groups = sec.tables["Largest groups"].filter(pl.col("group") == "X")
    assert groups["hurst_av"][0] is None or math.isnan(groups["hurst_av"][0])
    shown = dict(zip(groups.columns, formatted_rows(groups)[0], strict=True))
    assert shown["hurst_av"] == MISSING and shown["events"] == "800"
    assert any("service X (constant counts (no variance))" in n for n in sec.notes)


def test_failure_shares_of_groups_without_known_status_are_dashes(db: LakeDB) -> None:
    sec = section_of("failures", db, "google_2011_jobs")
    assert sec is not None
    table = sec.tables["ratio_by_status"]
    unknown = table.filter(pl.col("status") == "unknown")
    assert unknown["rows"][0] == 3984 and unknown["share_of_known"][0] is None
    assert any("3,984 of 9,808 jobs" in n and "\u2014" in n for n in sec.notes)


# ---------------------------------------------------------------- group sizes


def _figure(sec: Section, title: str) -> go.Figure:
    return next(f for f in sec.figures if title in (f.layout.title.text or ""))


def test_per_group_bars_show_their_size(db: LakeDB) -> None:
    sec = section_of("failures", db, "google_2011_jobs")
    assert sec is not None
    bars = _figure(sec, "Final status of jobs by")
    labels = list(bars.data[0].y)
    assert labels and all(re.search(r"\(n=[\d,]+\)$", label) for label in labels)
    # largest group first (names are shortened; the size is the group's rows)
    by_tenant = sec.numbers["by_group"]["tenant"]
    largest = max(g["n"] for name, g in by_tenant.items() if not name.startswith("("))
    assert labels[0].endswith(f"(n={largest:,})")
    burst = section_of("burstiness", db, "azure_llm_2023_conv")
    assert burst is not None
    names = [t.name for t in burst.figures[0].data]
    assert all("(n=" in n for n in names)


# ---------------------------------------------------------------- time since start


def test_time_axis() -> None:
    t = [datetime(1970, 1, 1, 0, 0, tzinfo=UTC), datetime(1970, 1, 2, 12, 0, tzinfo=UTC)]
    assert time_axis(t, "relative") == ([0.0, 36.0], "hours since the trace's start")
    assert time_axis(t, "absolute") == (t, "time (UTC)")
    assert presentation.since_start_unit(10 * 86400) == ("days", 86400.0)


def _x_values(fig: go.Figure) -> list[object]:
    return [x for trace in fig.data if trace.x is not None for x in trace.x]


@pytest.mark.parametrize(
    ("key", "trace", "title"),
    [
        ("failures", "google_2011_jobs", "by final status"),
        ("failures", "alibaba_2017_batch_task", "by final status"),
        ("cold_starts", "huawei_2025_cold_starts", "Recorded cold starts per"),
        ("burstiness", "mooncake_conversation", "arrival rate"),
    ],
)
def test_relative_time_is_plotted_as_time_since_start(
    db: LakeDB, key: str, trace: str, title: str
) -> None:
    assert db.info(trace).time_origin == "relative"
    sec = section_of(key, db, trace)
    assert sec is not None
    fig = _figure(sec, title)
    xs = _x_values(fig)
    assert xs and all(isinstance(x, int | float) for x in xs), xs[:3]
    assert "since" in fig.layout.xaxis.title.text and "UTC" not in fig.layout.xaxis.title.text
    assert "1970" not in fig.to_json()
    table = sec.tables.get("over_time")
    if table is not None:  # the table beside the figure: no 1970 dates either
        assert not [c for c, t in table.schema.items() if t in (pl.Datetime, pl.Date)]


def test_absolute_time_stays_dates(db: LakeDB) -> None:
    sec = section_of("failures", db, "swf_kth_sp2_1996_2_1_cln")
    assert sec is not None
    xs = _x_values(_figure(sec, "by final status"))
    assert xs and all(isinstance(x, date) for x in xs)
    assert min(xs).year == 1996  # type: ignore[type-var]
