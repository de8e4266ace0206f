"""`traces ingest` / `info` / `sources` end to end on the real LLM-serving samples."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from ingest.schema import META_SCHEMA_VERSION, SCHEMA_VERSION, TABLES
from tests.conftest import lake_sql

AZURE = "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
MOONCAKE = "llm_serving/mooncake_fast25/conversation_trace.jsonl"


def _raw(sql: str) -> tuple[object, ...]:
    """Answers computed straight from the raw files, independently of our adapters."""
    return duckdb.sql(sql).fetchall()[0]


def test_ingest_llm_serving_folder_matches_raw_files(cli, shared: Path, lake_dir: Path) -> None:
    code, out, err = cli("ingest", shared / "llm_serving", "--lake", lake_dir)
    assert code == 0, err
    assert "azure_llm_2023_conv" in out and "mooncake_conversation" in out
    azure = _raw(
        f"SELECT count(*), median(ContextTokens), median(GeneratedTokens) "
        f"FROM read_csv('{shared / AZURE}')"
    )
    moon = _raw(
        f"SELECT count(*), median(input_length), median(output_length) "
        f"FROM read_json('{shared / MOONCAKE}')"
    )
    got = dict(
        (t, (n, i, o))
        for t, n, i, o in lake_sql(
            lake_dir,
            "SELECT trace, count(*), median(input_tokens), median(output_tokens) "
            "FROM requests GROUP BY trace",
        )
    )
    assert got["azure_llm_2023_conv"] == azure
    assert got["mooncake_conversation"] == moon


def test_plain_duckdb_reads_the_lake_with_hive_partitions(
    cli, shared: Path, lake_dir: Path
) -> None:
    assert cli("ingest", shared / AZURE, "--lake", lake_dir)[0] == 0
    rows = duckdb.sql(
        f"SELECT trace, count(*) FROM read_parquet('{lake_dir}/requests/**/*.parquet', "
        "hive_partitioning=true) GROUP BY trace"
    ).fetchall()
    assert rows == [("azure_llm_2023_conv", 19366)]


def test_files_carry_schema_version_and_canonical_columns(
    cli, shared: Path, lake_dir: Path
) -> None:
    assert cli("ingest", shared / AZURE, shared / MOONCAKE, "--lake", lake_dir)[0] == 0
    files = list((lake_dir / "requests").rglob("*.parquet"))
    assert files
    want = TABLES["requests"].schema
    for f in files:
        schema = pq.read_schema(f)
        assert schema.metadata[META_SCHEMA_VERSION.encode()] == SCHEMA_VERSION.encode()
        assert [(x.name, x.type) for x in schema] == [(x.name, x.type) for x in want]


def test_reingest_replaces_instead_of_duplicating(cli, shared: Path, lake_dir: Path) -> None:
    for _ in range(2):
        assert cli("ingest", shared / AZURE, "--lake", lake_dir)[0] == 0
    assert lake_sql(lake_dir, "SELECT count(*) FROM requests") == [(19366,)]


def test_manifest_records_provenance(cli, shared: Path, lake_dir: Path) -> None:
    assert cli("ingest", shared / AZURE, "--lake", lake_dir)[0] == 0
    m = json.loads((lake_dir / "_manifest" / "azure_llm_2023_conv.json").read_text())
    assert m["source"] == "azure_llm_2023"
    assert m["rows_read"] == m["rows_written"] == 19366 and m["rows_rejected"] == 0
    assert m["schema_version"] == SCHEMA_VERSION and m["tool_version"]
    # SOURCE.md gives the file's size and the start of its sha256.
    assert m["files"][0]["bytes"] == 719188
    assert m["files"][0]["sha256"].startswith("2f1e5b666d4e3055")
    assert m["time_resolution_s"] == 1e-6 and m["time_origin"] == "absolute"
    assert m["ts_min"].startswith("2023-11-16T18:15:46") and m["ts_max"].startswith(
        "2023-11-16T19:"
    )


def test_info_and_sources(cli, shared: Path, lake_dir: Path) -> None:
    assert cli("ingest", shared / MOONCAKE, "--lake", lake_dir)[0] == 0
    code, out, _ = cli("info", "--lake", lake_dir)
    assert code == 0 and "mooncake_conversation" in out and "12,031" in out
    code, out, _ = cli("sources")
    assert code == 0
    for name in ("azure_llm_2023", "azure_llm_2024", "mooncake", "burstgpt"):
        assert name in out


def test_info_on_missing_lake_says_how_to_start(cli, tmp_path: Path) -> None:
    code, _, err = cli("info", "--lake", tmp_path / "nowhere")
    assert code == 2 and "traces ingest PATH" in err  # a usage error, as the README says


def test_lake_env_variable_is_the_default(cli, shared: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TRACES_LAKE", str(tmp_path / "envlake"))
    assert cli("ingest", shared / AZURE)[0] == 0
    assert (tmp_path / "envlake" / "_manifest" / "azure_llm_2023_conv.json").is_file()


def test_refuses_to_write_into_a_directory_that_is_not_a_lake(
    cli, shared: Path, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("my files")
    code, _, err = cli("ingest", shared / AZURE, "--lake", tmp_path)
    assert code == 1 and "not a workload-traces lake" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_files_no_source_reads_are_listed_not_hidden(cli, shared: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "AzureLLMInferenceTrace_conv.csv").write_bytes((shared / AZURE).read_bytes())
    (folder / "notes.csv").write_text("a,b\n1,2\n")
    (folder / "README.md").write_text("# not data")
    code, out, err = cli("ingest", folder, "--lake", tmp_path / "lake")
    assert code == 0, err
    assert "Skipped 1 file(s)" in out and "notes.csv" in out
