"""`traces ingest --engine spark`: every source's queries as Spark tasks give the same lake.

The reference is the session's sample lake, ingested on DuckDB: the Spark lake must hold the
same rows in every table, the same manifests (but for timings) and the same rejected lines,
line numbers included.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.errors import DataError
from ingest.lake import Lake
from ingest.pipeline import Plan, ingest_paths, ingest_trace
from ingest.runner import SparkRunner
from ingest.sources import get_source

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TABLES = ("requests", "jobs", "cold_starts", "series", "measurements", "summaries", "_rejected")
TIMING = ("ingested_at", "seconds")


def _rows(lake: Path, table: str) -> str:
    return (
        f"SELECT * FROM read_parquet('{lake}/{table}/**/*.parquet', hive_partitioning = true, "
        "union_by_name = true)"
    )


def lake_differences(a: Path, b: Path) -> dict[str, Any]:
    """Rows in one lake's table and not the other's (both ways, duplicates counted), and
    manifest keys that differ, ignoring when and how fast each was written."""
    con = duckdb.connect()
    out: dict[str, Any] = {}
    for table in TABLES:
        has = [(lake / table).is_dir() for lake in (a, b)]
        if not any(has):
            continue
        if not all(has):
            out[table] = f"only in {'the first' if has[0] else 'the second'} lake"
            continue
        for x, y in ((a, b), (b, a)):
            [(n,)] = con.execute(
                f"SELECT count(*) FROM (({_rows(x, table)}) EXCEPT ALL ({_rows(y, table)}))"
            ).fetchall()
            if n:
                out[f"{table}: rows only in {x}"] = n
    names = {p.name for lake in (a, b) for p in (lake / "_manifest").glob("*.json")}
    for name in sorted(names):
        paths = [lake / "_manifest" / name for lake in (a, b)]
        if not all(p.is_file() for p in paths):
            out[name] = "missing in one lake"
            continue
        ma, mb = (json.loads(p.read_text()) for p in paths)
        keys = [k for k in ma.keys() | mb.keys() if k not in TIMING and ma.get(k) != mb.get(k)]
        if keys:
            out[name] = sorted(keys)
    return out


@pytest.fixture(scope="session")
def spark_runner(spark: Any) -> SparkRunner:
    return SparkRunner(session=spark)


def test_the_spark_lake_of_every_sample_equals_the_duckdb_one(
    sample_lake: Path, spark: Any, tmp_path: Path
) -> None:
    from tests.conftest import sample_inputs

    lake = tmp_path / "lake"
    report = ingest_paths(sample_inputs(), lake, engine="spark")
    assert not report.failures
    assert len(report.results) == len(Lake.open(sample_lake).manifests()) >= 26
    assert lake_differences(lake, sample_lake) == {}
    # and the comparison itself notices a difference
    (lake / "_manifest" / "mooncake_conversation.json").unlink()
    assert lake_differences(lake, sample_lake) != {}


BAD = (
    "TIMESTAMP,ContextTokens,GeneratedTokens\n"
    "2023-11-16 18:15:46.6805900,374,44\n"
    "yesterday,10,10\n"
    "2023-11-16 18:15:47.0000000,-5,3\n"
    "2023-11-16 18:15:48.0000000,12,7,9\n"
    "2023-11-16 18:15:49.0000000,100,20\n"
)


def _bad_trace(tmp_path: Path) -> list[Path]:
    files = []
    for service in ("conv", "code"):
        f = tmp_path / "in" / f"AzureLLMInferenceTrace_{service}.csv"
        f.parent.mkdir(exist_ok=True)
        f.write_text(BAD)
        files.append(f)
    return files


def test_rejected_lines_are_the_same_with_their_line_numbers(
    spark_runner: SparkRunner, tmp_path: Path
) -> None:
    files = _bad_trace(tmp_path)
    lakes = {}
    for engine in ("duckdb", "spark"):
        lake = tmp_path / engine
        report = ingest_paths(files, lake, max_rejected=1.0, engine=engine)
        assert not report.failures
        lakes[engine] = lake
    assert lake_differences(lakes["spark"], lakes["duckdb"]) == {}
    rejected = duckdb.sql(
        f"SELECT line, problem FROM read_parquet('{lakes['spark']}/_rejected/**/*.parquet') "
        "ORDER BY file, line"
    ).fetchall()
    assert (
        rejected == [(3, "unparsable-value"), (4, "negative-count"), (5, "wrong-column-count")] * 2
    )


def test_too_many_rejected_on_spark_leaves_the_lake_as_it_was(
    spark_runner: SparkRunner, tmp_path: Path
) -> None:
    files = _bad_trace(tmp_path)
    lake_dir = tmp_path / "lake"
    good = tmp_path / "good" / "AzureLLMInferenceTrace_conv.csv"
    good.parent.mkdir()
    good.write_text(BAD.splitlines()[0] + "\n" + BAD.splitlines()[1] + "\n")
    lake = Lake.open(lake_dir, create=True)
    source = get_source("azure_llm_2023")
    ingest_trace(lake, Plan(source, "t", (good,)), runner=spark_runner)
    before = sorted(p.read_bytes() for p in lake_dir.rglob("*.parquet"))
    with pytest.raises(DataError, match="rows rejected"):
        ingest_trace(lake, Plan(source, "t", tuple(files)), runner=spark_runner)
    assert sorted(p.read_bytes() for p in lake_dir.rglob("*.parquet")) == before
    assert not any((lake_dir / "_staging").iterdir())


def test_a_task_that_fails_names_the_file_and_leaves_the_lake_as_it_was(
    spark_runner: SparkRunner, tmp_path: Path
) -> None:
    """The error raised inside a Spark task comes back typed, with its message."""
    truncated = tmp_path / "AzureLLMInferenceTrace_conv.csv.gz"
    line = b"2023-11-16 18:15:46.0000000,1,2\n"
    data = gzip.compress(BAD.splitlines()[0].encode() + b"\n" + line * 200_000)
    truncated.write_bytes(data[: len(data) // 2])
    lake = Lake.open(tmp_path / "lake", create=True)
    with pytest.raises(DataError, match=r"AzureLLMInferenceTrace_conv\.csv\.gz"):
        ingest_trace(
            lake, Plan(get_source("azure_llm_2023"), "t", (truncated,)), runner=spark_runner
        )
    assert Lake.open(tmp_path / "lake").manifests() == []
    assert not list((tmp_path / "lake").rglob("*.parquet"))


def test_the_cli_ingests_on_spark(cli, shared: Path, spark: Any, tmp_path: Path) -> None:
    folder = shared / "llm_serving" / "azure_llm_inference_2023"
    code, out, err = cli("ingest", folder, "--lake", tmp_path / "lake", "--engine", "spark")
    assert code == 0, err
    assert "azure_llm_2023_conv" in out and "19,366" in out
