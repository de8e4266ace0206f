"""A staged table's profile from its footers equals the scan's, or is not given at all."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.footers import footer_profile
from ingest.pipeline import profile_table
from ingest.quality import profile
from ingest.schema import TABLES
from ingest.write import connect
from tests.conftest import SHARED

AZURE_CONV = "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"

DAY = int(datetime(2023, 11, 16, tzinfo=UTC).timestamp()) * 1_000_000


def _iso(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_footers_agree_with_the_scan_on_every_sample_table(sample_lake: Path) -> None:
    con = connect()
    answered = []
    for table in TABLES:
        for staged in sorted((sample_lake / table).glob("trace=*")):
            resolution = 1e-6
            from_footers = footer_profile(con, table, staged, resolution)
            scanned = profile(con, table, staged, resolution)
            if from_footers is not None:
                assert from_footers == scanned, staged
                answered.append(staged.name)
    # The footers settle the request tables of the LLM traces (no keys, no grid to check).
    assert "trace=azure_llm_2023_conv" in answered
    # And what they say matches the rows themselves, read plainly.
    staged = sample_lake / "requests" / "trace=azure_llm_2023_conv"
    rows = pq.read_table(staged, columns=["ts", "input_tokens"]).to_pydict()
    micros = [int(t.timestamp() * 1e6) for t in rows["ts"]]
    got = footer_profile(con, "requests", staged, 1e-6)
    assert got is not None
    with (SHARED / AZURE_CONV).open() as f:
        lines = sum(1 for _ in f) - 1  # after the header
    assert got.rows == len(micros) == lines
    assert (got.ts_min, got.ts_max) == (_iso(min(micros)), _iso(max(micros)))


def _requests(tmp_path: Path, files: list[dict[str, list[Any]]], **write: Any) -> Path:
    """A staged requests table: one Parquet file per dict of columns (others NULL)."""
    schema = TABLES["requests"].schema
    staged = tmp_path / "requests"
    staged.mkdir()
    for i, given in enumerate(files):
        n = len(next(iter(given.values())))
        columns = {f.name: pa.nulls(n, f.type) for f in schema}
        columns["trace"] = pa.array(["t"] * n)
        columns["status"] = pa.array(["unknown"] * n)
        for name, values in given.items():
            if name == "ts_micros":  # times as raw microseconds, past what datetime holds
                columns["ts"] = pa.array(values, pa.int64()).cast(schema.field("ts").type)
            else:
                columns[name] = pa.array(values, schema.field(name).type)
        pq.write_table(
            pa.table(columns, schema=schema),
            staged / f"part-{i}.parquet",
            row_group_size=2,
            **write,
        )
    return staged


def _ts(*offsets_s: float | None) -> list[datetime | None]:
    return [None if s is None else datetime.fromtimestamp(DAY / 1e6 + s, UTC) for s in offsets_s]


def test_several_files_and_row_groups_give_the_whole_span(tmp_path: Path) -> None:
    staged = _requests(
        tmp_path,
        [
            {"ts": _ts(5, 1, 9), "input_tokens": [3, 0, 7]},
            {"ts": _ts(30, 2, None), "input_tokens": [1, 4, 2]},  # a NULL time, not a NULL row
        ],
    )
    con = connect()
    got = footer_profile(con, "requests", staged, 1e-6)
    assert got is not None
    assert (got.rows, got.breaking_rows) == (6, 0)
    assert (got.ts_min, got.ts_max) == (_iso(DAY + 1_000_000), _iso(DAY + 30_000_000))
    assert got == profile(con, "requests", staged, 1e-6)


@pytest.mark.parametrize(
    ("why", "columns"),
    [
        ("a negative count", {"input_tokens": [5, -1, 3]}),
        ("NaN among finite doubles", {"duration_s": [1.0, math.nan, 2.0]}),
        ("infinity", {"duration_s": [1.0, math.inf, None]}),
        ("a huge double", {"duration_s": [1.0, 1e19, 2.0]}),
        ("a status outside the enum", {"status": ["unknown", "weird", "unknown"]}),
        ("one status outside the enum throughout", {"status": ["weird"] * 3}),
        ("several statuses", {"status": ["ok", "failed", "ok"]}),
        ("a time past year 9999", {"ts_micros": [DAY, 253_402_300_800_000_000, DAY]}),
        ("rows with every key field empty", {"tenant": ["a", "b", "c"]}),
    ],
)
def test_what_the_footers_cannot_settle_is_scanned(
    tmp_path: Path, why: str, columns: dict[str, list[Any]]
) -> None:
    staged = _requests(tmp_path, [columns])
    con = connect()
    assert footer_profile(con, "requests", staged, 1e-6) is None, why
    scanned = profile(con, "requests", staged, 1e-6)
    assert profile_table(con, "requests", staged, 1e-6) == scanned
    if why.startswith("rows with"):
        assert [f.slug for f in scanned.findings] == ["empty-key"]
    elif why != "several statuses":  # ok and failed are both in the enum
        assert scanned.breaking_rows >= 1, why


def test_files_without_statistics_are_scanned(tmp_path: Path) -> None:
    staged = _requests(
        tmp_path, [{"ts": _ts(1, 2, 3), "input_tokens": [1, 2, 3]}], write_statistics=False
    )
    con = connect()
    assert footer_profile(con, "requests", staged, 1e-6) is None
    assert profile_table(con, "requests", staged, 1e-6).rows == 3


def test_tables_with_keys_or_a_coarse_clock_are_scanned(tmp_path: Path) -> None:
    staged = _requests(tmp_path, [{"ts": _ts(1, 2, 3), "input_tokens": [1, 2, 3]}])
    con = connect()
    assert footer_profile(con, "requests", staged, 1.0) is None  # off-grid needs the values
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    schema = TABLES["jobs"].schema
    columns = {f.name: pa.nulls(2, f.type) for f in schema}
    columns["job_id"] = pa.array(["a", "a"])
    pq.write_table(pa.table(columns, schema=schema), jobs / "part-0.parquet")
    assert footer_profile(con, "jobs", jobs, 1e-6) is None  # duplicate keys need the values
    assert [f.slug for f in profile_table(con, "jobs", jobs, 1e-6).findings] == ["duplicate-key"]
