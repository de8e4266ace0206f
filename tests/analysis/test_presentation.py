"""What a reader sees: one number format per column, em dashes with reasons, group sizes on
per-group bars and rows, relative-time traces plotted as time since their start."""

from __future__ import annotations

import csv
import math
import re
from datetime import UTC, date, datetime
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from analysis import burstiness, burstiness_report, presentation
from analysis.db import LakeDB
from analysis.presentation import MISSING, formatted_rows, time_axis
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


def test_a_float_count_of_whole_numbers_reads_as_integers() -> None:
    df = pl.DataFrame({"events": [3.0, 12000.0, 0.0], "unknown_rows": [1.0, 2.0, 3.0]})
    assert formatted_rows(df) == [["3", "1"], ["12,000", "2"], ["0", "3"]]


def test_a_share_of_whole_numbers_still_reads_as_a_share() -> None:
    # 0 and 1 in a ratio column are shares, not counts
    df = pl.DataFrame({"unsuccessful": [0.0, 1.0, 1.0]})
    assert [r[0] for r in formatted_rows(df)] == ["0.0", "1.0", "1.0"]


def test_one_number_of_decimals_per_column_from_its_smallest_value() -> None:
    # The reviewer's cells: a ratio column ("1" beside "0.01649"), iat_cv ("12" beside
    # "5.214"), rate_per_s ("0.0006319 / 11.79 / 1.315").
    df = pl.DataFrame(
        {
            "ratio": [0.0, 1.0, 0.0164893],
            "iat_cv": [12.0003, 5.2143, 3.03386],
            "rate_per_s": [0.000631897, 11.7936, 1.31494],
        }
    )
    assert formatted_rows(df) == [
        ["0.0000", "12.00", "0.000632"],
        ["1.0000", "5.21", "11.793600"],
        ["0.0165", "3.03", "1.314940"],
    ]


def test_fewer_decimals_when_fewer_show_every_value_exactly() -> None:
    df = pl.DataFrame({"rate": [1.3, 3.0, 5.8], "p50_s": [70.0, 904.0, 3620.0]})
    assert formatted_rows(df) == [["1.3", "70"], ["3.0", "904"], ["5.8", "3,620"]]


def test_a_column_with_a_tiny_or_huge_value_is_all_scientific() -> None:
    df = pl.DataFrame({"x": [1e-8, 1.0, 3600.5], "y": [2.5e13, 1.5, 0.0]})
    assert formatted_rows(df) == [
        ["1.00e-08", "2.50e+13"],
        ["1.00e+00", "1.50e+00"],
        ["3.60e+03", "0.00e+00"],
    ]


def _decimals(cell: str) -> int:
    """Decimals of a plain cell, or of a scientific cell's mantissa."""
    number = cell.split("e")[0]
    return len(number.split(".")[1]) if "." in number else 0


@settings(max_examples=300, deadline=None)
@given(
    hs.lists(
        hs.one_of(
            hs.none(),
            hs.just(math.nan),
            hs.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
        ),
        min_size=1,
        max_size=30,
    ),
    hs.sampled_from(["x", "n"]),
)
def test_one_format_per_column(values: list[float | None], name: str) -> None:
    df = pl.DataFrame({name: values}, schema={name: pl.Float64})
    cells = [r[0] for r in formatted_rows(df)]
    shown = [c for c in cells if c != MISSING]
    # never scientific notation beside plain numbers, one number of decimals, no "nan"/"None"
    assert all(SCIENTIFIC.match(c) for c in shown) or all(PLAIN.match(c) for c in shown), cells
    assert len({_decimals(c) for c in shown}) <= 1, cells
    for v, c in zip(values, cells, strict=True):
        assert (c == MISSING) == (v is None or math.isnan(v))
        if c != MISSING and PLAIN.match(c):  # the cell is the value, rounded to its decimals
            assert v is not None
            assert float(c.replace(",", "")) == pytest.approx(v, abs=0.51 * 10 ** -_decimals(c))


def test_train_prints_counts_as_integers_and_missing_values_as_dashes() -> None:
    assert _metric_cells("scored", [12345.0, 20000.0, None]) == ["12,345", "20,000", MISSING]
    assert _metric_cells("mae", [0.1234567, 2.0, math.nan]) == ["0.123", "2.000", MISSING]
    # a ratio metric of whole values is still a ratio
    assert _metric_cells("coverage_80", [1.0, 0.0]) == ["1.0", "0.0"]


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
    burst = section_of("burstiness", db, "azure_llm_2023_conv")
    assert burst is not None
    names = [t.name for t in burst.figures[0].data]
    assert all("(n=" in n for n in names)


LABEL = re.compile(r"^(.*) \(n=([\d,]+)(?:, ([\d,]+|all) unknown)?\)$")


def _n_and_unknown(text: str) -> tuple[int, int]:
    """(n, unknown) from a chart's 'n=789, 62 unknown' (or 'n=8', 'n=41, all unknown')."""
    m = re.fullmatch(r"n=([\d,]+)(?:, ([\d,]+|all) unknown)?", text)
    assert m, text
    n = int(m.group(1).replace(",", ""))
    unknown = m.group(2) or "0"
    return n, n if unknown == "all" else int(unknown.replace(",", ""))


def test_group_bars_count_n_as_their_table_does(db: LakeDB) -> None:
    # Google 2011 jobs by tenant: the chart's n counts every job of the group, as the table's
    # n does, with the jobs of unknown status beside it (the bars are shares of the known).
    sec = section_of("failures", db, "google_2011_jobs")
    assert sec is not None
    labels = list(_figure(sec, "Final status of jobs by").data[0].y)
    table = sec.tables["by_tenant"].filter(pl.col("n") > pl.col("unknown_rows"))
    shown = []
    for label in labels:
        m = LABEL.match(label)
        assert m, label
        shown.append(_n_and_unknown(label[len(m.group(1)) + 2 : -1]))
    assert shown == list(table.select("n", "unknown_rows").iter_rows())
    assert labels[0].endswith("(n=789, 62 unknown)")  # the reviewer's example


def _size_bucket(size: float | None) -> str:
    """The report's log2 size buckets, written out: 0, (0, 1], (1, 2], (2, 4], ..."""
    if size is None:
        return "(no size)"
    if size <= 0:
        return "0"
    hi = 1
    while hi < size:
        hi *= 2
    return "(0, 1]" if hi == 1 else f"({hi // 2}, {hi}]"


def _raw_sizes(
    path: Path, size_col: int, scale: float, status_col: int, known: set[str]
) -> dict[str, tuple[int, int]]:
    """(rows, rows of unknown status) per size bucket, counted from a raw CSV with a header."""
    counts: dict[str, list[int]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        next(rows)
        for row in rows:
            cell = row[size_col].strip()
            bucket = _size_bucket(float(cell) / scale if cell else None)
            c = counts.setdefault(bucket, [0, 0])
            c[0] += 1
            c[1] += row[status_col].strip() not in known
    return {b: (n, u) for b, (n, u) in counts.items()}


def _size_bars(sec: Section, dim: str) -> dict[str, tuple[int, int]]:
    bars = next(t for t in _figure(sec, "by size").data if t.name == dim)
    assert all(y is not None for y in bars.y)  # an undefined ratio is no bar, never a 0
    return {x: _n_and_unknown(text) for x, text in zip(bars.x, bars.text, strict=True)}


def test_size_groups_match_the_raw_file_and_rows_without_a_size_stay(
    db: LakeDB, shared: Path
) -> None:
    # Alibaba 2017 batch tasks: CPUs per instance / 100; 9,017 rows have no CPU request.
    raw = _raw_sizes(
        shared / "datacenter/alibaba_v2017_batch_task/batch_task.csv",
        size_col=6,
        scale=100,
        status_col=5,
        known={"Terminated", "Failed", "Cancelled"},
    )
    assert raw["(0, 1]"] == (71515, 3408) and raw["(no size)"] == (9017, 9006)
    sec = section_of("failures", db, "alibaba_2017_batch_task")
    assert sec is not None
    table = sec.tables["by_num_cpus"]
    assert {b: (n, u) for b, n, u in table.select("bucket", "n", "unknown_rows").iter_rows()} == (
        raw
    )
    assert _size_bars(sec, "num_cpus") == {b: c for b, c in raw.items() if c[0] > c[1]}
    total = sum(n for n, _ in raw.values())
    assert any(f"9,017 of {total:,} jobs have no num_cpus" in n for n in sec.notes), sec.notes


def test_a_size_group_without_known_status_has_no_bar_and_a_note(db: LakeDB, shared: Path) -> None:
    # Alibaba GPU 2023 pods: cpu_milli / 1000; pods still Running or Pending have no outcome.
    raw = _raw_sizes(
        shared / "datacenter/alibaba_gpu_v2023_openb/openb_pod_list_default.csv",
        size_col=1,
        scale=1000,
        status_col=7,
        known={"Succeeded", "Failed"},
    )
    assert raw["(0, 1]"] == (41, 41) and raw["(1, 2]"] == (10, 10)
    sec = section_of("failures", db, "alibaba_gpu_2023_pods_default")
    assert sec is not None
    table = sec.tables["by_num_cpus"]
    assert {b: (n, u) for b, n, u in table.select("bucket", "n", "unknown_rows").iter_rows()} == (
        raw
    )
    bars = _size_bars(sec, "num_cpus")
    assert bars == {b: c for b, c in raw.items() if c[0] > c[1]}
    assert "(0, 1]" not in bars and "(1, 2]" not in bars  # never drawn as n=0 bars of 0%
    note = next(n for n in sec.notes if n.startswith("No bar for groups"))
    assert "num_cpus (0, 1] (n=41, all unknown)" in note
    assert "num_cpus (1, 2] (n=10, all unknown)" in note


def test_memory_is_counted_in_binary_units(db: LakeDB, shared: Path) -> None:
    # The lake's mem_gb is GiB (memory_mib / 1024): 583.7 TiB, not "584 TB".
    with (shared / "datacenter/alibaba_gpu_v2023_openb/openb_node_list_all_node.csv").open() as f:
        mib = sum(int(r["memory_mib"]) for r in csv.DictReader(f))
    sec = section_of("inventory", db, "alibaba_gpu_2023_nodes_all_node")
    assert sec is not None
    assert f"{mib / 2**20:.1f} TiB of memory" in sec.findings[0]
    assert not re.search(r"\b[GT]B\b", " ".join(sec.findings))
    table = sec.tables["Capacity per class"]
    assert table["memory (GiB)"].sum() == pytest.approx(mib / 1024)


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
    assert min(x.year for x in xs if isinstance(x, date)) == 1996
