"""`azure-functions` writes invitro's whole trace folder: invocations.csv with durations.csv and
memory.csv beside it, a row for every function (invitro stops without one).

Values are checked against the raw files in ../shared/traces, read here with the csv module:
from Azure Functions 2019, each function's rows are the release's (Count: its generated
invocations); from Azure Functions 2021, each function's statistics are those of its generated
requests' durations, recomputed here by plain-Python linear interpolation, and lie within the
raw durations of the same function."""

from __future__ import annotations

import csv
import dataclasses
import math
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from generate.api import GenerateResult, generate
from generate.formats import FORMATS, WriteInfo
from generate.formats import azure_functions as af
from generate.workload import RequestWorkload
from ingest.lake import Lake
from tests.conftest import lake_sql
from tests.generate.conftest import (
    AZURE_TRACE,
    FAST,
    FUNCTIONS_2019,
    FUNCTIONS_2019_TRACE,
    FUNCTIONS_2021,
    FUNCTIONS_2021_TRACE,
)

CliRun = Callable[..., tuple[int, str, str]]
RAW_2021 = FUNCTIONS_2021 / "AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv"
PCTS = (0, 1, 25, 50, 75, 99, 100)


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def invocations_per_function(path: Path) -> dict[str, int]:
    with path.open(newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return {row[2]: sum(int(x) for x in row[4:]) for row in reader}


def linear_percentile(values: list[float], p: float) -> float:
    """Hyndman-Fan type 7 by hand: position (n-1)p between the sorted values."""
    xs = sorted(values)
    h = (len(xs) - 1) * p / 100
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def ingest_folder(cli: CliRun, folder: Path, lake: Path) -> dict[str, Any]:
    """`traces ingest DIR --lake LAKE`, no --source: the one manifest it wrote."""
    code, out, err = cli("ingest", folder, "--lake", lake)
    assert code == 0, out + err
    (manifest,) = Lake.open(lake).manifests()
    return manifest


# ---------------------------------------------------------------- from Azure Functions 2019


def test_2019_rows_are_the_release_rows_with_generated_counts(
    gen_lake: Path, tmp_path: Path
) -> None:
    out = tmp_path / "trace" / "invocations.csv"
    r = generate(gen_lake, FUNCTIONS_2019_TRACE, out, "azure-functions", arrival_models=FAST)
    assert [f.name for f in r.files] == ["invocations.csv", "durations.csv", "memory.csv"]
    counts = invocations_per_function(out)
    assert sum(counts.values()) == r.events

    raw_header, raw_rows = read_rows(FUNCTIONS_2019 / "durations.csv")
    header, rows = read_rows(out.parent / "durations.csv")
    assert header == raw_header  # invitro's columns, in its order
    raw = {row["HashFunction"]: row for row in raw_rows}
    assert [row["HashFunction"] for row in rows] == list(counts)  # invocations.csv's order
    for row in rows:
        source = raw[row["HashFunction"]]
        assert row["HashOwner"] == source["HashOwner"] and row["HashApp"] == source["HashApp"]
        for col in header[3:]:
            if col == "Count":
                assert int(row[col]) == counts[row["HashFunction"]]
            else:
                assert float(row[col]) == float(source[col]), (row["HashFunction"], col)

    raw_header, raw_rows = read_rows(FUNCTIONS_2019 / "memory.csv")
    header, rows = read_rows(out.parent / "memory.csv")
    assert header == raw_header  # the sampler's per-function variant, HashFunction first
    assert sorted(tuple(r.values()) for r in rows) == sorted(tuple(r.values()) for r in raw_rows)
    assert any("Count is the function's generated invocations" in n for n in r.notes)


def test_2019_folder_reads_back_by_detection(gen_lake: Path, tmp_path: Path, cli: CliRun) -> None:
    out = tmp_path / "trace" / "invocations.csv"
    generate(gen_lake, FUNCTIONS_2019_TRACE, out, "azure-functions", arrival_models=FAST)
    manifest = ingest_folder(cli, out.parent, tmp_path / "lake")
    assert manifest["source"] == "azure_functions_2019"
    _, durations = read_rows(out.parent / "durations.csv")
    _, memory = read_rows(out.parent / "memory.csv")
    lake = {
        (str(e), str(m), str(s)): float(v)  # type: ignore[arg-type]
        for e, m, s, v in lake_sql(
            tmp_path / "lake", "SELECT entity, metric, stat, value FROM summaries"
        )
    }
    assert len(lake) == len(durations) * 11 + len(memory) * 10
    for row in durations:
        fn = row["HashFunction"]
        assert lake[(fn, "duration_s", "count")] == int(row["Count"])
        assert lake[(fn, "duration_s", "p99")] * 1000 == pytest.approx(
            float(row["percentile_Average_99"])
        )
    for row in memory:
        fn = row["HashFunction"]
        assert lake[(fn, "mem_gb", "p100")] * 1024 == float(row["AverageAllocatedMb_pct100"])


def test_2019_over_two_days_writes_a_set_a_day_that_reads_back(
    two_day_functions: GenerateResult, tmp_path: Path, cli: CliRun
) -> None:
    r = two_day_functions
    out = r.files[0].parent / "invocations.csv"
    kinds = ("invocations", "durations", "memory")
    names = [f"{kind}.d{day:02d}.csv" for day in (1, 2, 3) for kind in kinds]
    assert [f.name for f in r.files] == names
    assert any("to replay day NN" in n for n in r.notes)
    _, raw_rows = read_rows(FUNCTIONS_2019 / "durations.csv")
    raw_p50 = {row["HashFunction"]: float(row["percentile_Average_50"]) for row in raw_rows}
    expected_counts = {}
    for day in (1, 2, 3):
        counts = invocations_per_function(out.parent / f"invocations.d{day:02d}.csv")
        _, rows = read_rows(out.parent / f"durations.d{day:02d}.csv")
        # the one source day's statistics on every day; Count that day's invocations
        assert {row["HashFunction"]: float(row["percentile_Average_50"]) for row in rows} == raw_p50
        assert {row["HashFunction"]: int(row["Count"]) for row in rows} == counts
        expected_counts.update({(fn, day): n for fn, n in counts.items()})
    ingest_folder(cli, out.parent, tmp_path / "lake")
    lake_counts = lake_sql(
        tmp_path / "lake",
        "SELECT entity, CAST(json_extract(extra, '$.day') AS INTEGER), value FROM summaries "
        "WHERE metric = 'duration_s' AND stat = 'count'",
    )
    assert {(str(e), int(d)): int(v) for e, d, v in lake_counts} == expected_counts  # type: ignore[call-overload]


def test_an_interrupted_write_leaves_no_file(
    gen_lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> pl.DataFrame:
        raise RuntimeError("interrupted")

    # the invocation and durations files are written before memory.csv fails
    monkeypatch.setattr(af, "published_memory", broken)
    folder = tmp_path / "trace"
    with pytest.raises(RuntimeError, match="interrupted"):
        generate(
            gen_lake,
            FUNCTIONS_2019_TRACE,
            folder / "invocations.csv",
            "azure-functions",
            arrival_models=FAST,
        )
    assert list(folder.iterdir()) == []  # no file, whole or partial, no temporary


def test_an_app_s_memory_is_shared_among_its_functions() -> None:
    """The original release's memory is per app: each of the app's workload functions gets an
    even share of the MB columns (invitro's sampler), SampleCount kept."""
    keys = pl.DataFrame(
        {
            "HashOwner": ["o", "o", "o"],
            "HashApp": ["a", "a", "b"],
            "HashFunction": ["f1", "f2", "g"],
        }
    ).with_row_index("fn")
    mb = {c: [300.0, 7.0] for c in af.MEMORY_MB}
    rows = pl.DataFrame(
        {
            "HashFunction": [None, "g"],
            "HashOwner": ["o", "o"],
            "HashApp": ["a", "b"],
            "day": [1, 1],
            "SampleCount": [40, 5],
            **mb,
        },
        schema_overrides={"HashFunction": pl.String},
    )
    got = af.published_memory(keys, rows, day=1)
    assert got.columns == list(af.MEMORY)
    assert got.select("HashFunction", "SampleCount", "AverageAllocatedMb_pct100").rows() == [
        ("f1", 40, 150.0),
        ("f2", 40, 150.0),
        ("g", 5, 7.0),
    ]


# ---------------------------------------------------------------- from timed requests


def test_2021_statistics_are_those_of_the_generated_requests(
    gen_lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[RequestWorkload] = []
    fmt = FORMATS["azure-functions"]

    def spy(w: Any, out: Path, info: WriteInfo) -> list[Path]:
        seen.append(w)
        return fmt.write(w, out, info)

    monkeypatch.setitem(FORMATS, "azure-functions", dataclasses.replace(fmt, write=spy))
    out = tmp_path / "trace" / "invocations.csv"
    r = generate(gen_lake, FUNCTIONS_2021_TRACE, out, "azure-functions", arrival_models=FAST)
    (w,) = seen
    assert w.duration_s is not None
    # the generated requests' durations (ms) per function, as the writer was handed them
    generated: dict[str, list[float]] = defaultdict(list)
    for code, d in zip(w.service.tolist(), w.duration_s.tolist(), strict=True):
        generated[str(w.services[code])].append(d * 1000)
    raw_ms: dict[str, list[float]] = defaultdict(list)
    raw_app = {}
    with RAW_2021.open(newline="") as f:
        for row in csv.DictReader(f):
            raw_ms[row["func"]].append(float(row["duration"]) * 1000)
            raw_app[row["func"]] = row["app"]

    counts = invocations_per_function(out)
    header, rows = read_rows(out.parent / "durations.csv")
    assert header == read_rows(FUNCTIONS_2019 / "durations.csv")[0]
    assert [row["HashFunction"] for row in rows] == list(counts)
    for row in rows:
        fn = row["HashFunction"]
        assert row["HashApp"] == raw_app[fn]  # the function's app in the release
        assert int(row["Count"]) == counts[fn] == len(generated[fn])
        if not generated[fn]:
            assert all(float(row[c]) == 0 for c in header[3:])
            continue
        xs = generated[fn]
        assert float(row["Average"]) == pytest.approx(sum(xs) / len(xs), abs=1e-6)
        for p in PCTS:
            assert float(row[f"percentile_Average_{p}"]) == pytest.approx(
                linear_percentile(xs, p), abs=1e-6
            ), (fn, p)
        # every generated duration is one of the function's own in the release
        assert min(raw_ms[fn]) - 1e-6 <= float(row["Minimum"])
        assert float(row["Maximum"]) <= max(raw_ms[fn]) + 1e-6
    assert sum(map(len, generated.values())) == r.events

    header, memory = read_rows(out.parent / "memory.csv")
    assert header == read_rows(FUNCTIONS_2019 / "memory.csv")[0]
    assert [row["HashFunction"] for row in memory] == list(counts)
    for row in memory:
        assert int(row["SampleCount"]) == counts[row["HashFunction"]]
        assert {float(row[c]) for c in header[4:]} == {200.0}  # the stated placeholder
    assert any("memory.csv is a placeholder" in n and "200 MB" in n for n in r.notes)


def test_percentiles_of_chosen_durations_are_linear_by_hand(tmp_path: Path) -> None:
    """Two functions with durations chosen here: every statistic against a hand computation."""
    a = [0.010, 0.250, 0.040, 0.125, 3.5]  # s
    b = [2.0, 1.0]
    t = np.arange(len(a) + len(b), dtype=np.float64)  # one request a second, one minute
    w = RequestWorkload(
        t_s=t,
        origin_us=0,
        time_origin="relative",
        service=np.array([0, 1, 0, 0, 1, 0, 0], dtype=np.int32),
        services=["fa", "fb"],
        kind=np.zeros(7, dtype=np.int32),
        kinds=["http"],
        status=np.zeros(7, dtype=np.int32),
        statuses=["ok"],
        duration_s=np.array([a[0], b[0], a[1], a[2], b[1], a[3], a[4]]),
        span_s=60.0,
    )
    out = tmp_path / "invocations.csv"
    files = af.write(w, out, WriteInfo("chosen", 0, "test"))
    assert [f.name for f in files] == ["invocations.csv", "durations.csv", "memory.csv"]
    _, rows = read_rows(tmp_path / "durations.csv")
    for row, xs in zip(rows, ([x * 1000 for x in a], [x * 1000 for x in b]), strict=True):
        assert int(row["Count"]) == len(xs)
        assert float(row["Minimum"]) == pytest.approx(min(xs))
        assert float(row["Maximum"]) == pytest.approx(max(xs))
        assert float(row["Average"]) == pytest.approx(sum(xs) / len(xs))
        for p in PCTS:
            assert float(row[f"percentile_Average_{p}"]) == pytest.approx(linear_percentile(xs, p))
    # 25th percentile of (10, 40, 125, 250, 3500) ms: position 1 exactly -> 40
    assert float(rows[0]["percentile_Average_25"]) == pytest.approx(40.0)
    # 99th of (1000, 2000): 1000 + 0.99 * 1000
    assert float(rows[1]["percentile_Average_99"]) == pytest.approx(1990.0)


def test_a_source_without_durations_writes_counts_only_and_says_why(
    gen_lake: Path, tmp_path: Path
) -> None:
    out = tmp_path / "trace" / "invocations.csv"
    r = generate(gen_lake, AZURE_TRACE, out, "azure-functions", arrival_models=FAST)
    assert [f.name for f in r.files] == ["invocations.csv"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["invocations.csv"]
    (note,) = [n for n in r.notes if "not written" in n]
    assert "durations.csv and memory.csv" in note and AZURE_TRACE in note


@pytest.mark.parametrize(
    ("invocations", "durations", "memory"),
    [
        ("invocations.csv", "durations.csv", "memory.csv"),
        ("invocations.d07.csv", "durations.d07.csv", "memory.d07.csv"),
        ("wl.csv", "wl.durations.csv", "wl.memory.csv"),
        ("wl.d02.csv", "wl.durations.d02.csv", "wl.memory.d02.csv"),
    ],
)
def test_companions_are_named_as_invitro_and_the_adapter_read_them(
    invocations: str, durations: str, memory: str
) -> None:
    from ingest.sources.azure_functions_2019 import day_of

    path = Path("out") / invocations
    assert af.companion(path, "durations") == Path("out") / durations
    assert af.companion(path, "memory") == Path("out") / memory
    assert day_of(af.companion(path, "memory")) == day_of(path)


def test_another_name_says_how_invitro_wants_the_folder(gen_lake: Path, tmp_path: Path) -> None:
    r = generate(
        gen_lake, FUNCTIONS_2019_TRACE, tmp_path / "wl.csv", "azure-functions", arrival_models=FAST
    )
    assert [f.name for f in r.files] == ["wl.csv", "wl.durations.csv", "wl.memory.csv"]
    assert any("name the output invocations.csv" in n for n in r.notes)


def test_help_says_what_the_format_writes() -> None:
    summary = FORMATS["azure-functions"].summary
    assert "durations.csv" in summary and "memory.csv" in summary and "invitro" in summary
