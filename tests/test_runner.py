"""What a Spark task does, without Spark: `ingest.runner` is plain Python around DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest.errors import UsageError
from ingest.runner import _keep_attempt, _run_task, _Task, make_runner
from ingest.sources import get_source
from ingest.sources.base import ReadContext

AZURE = "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"


def test_a_task_run_twice_leaves_one_copy_of_its_rows(shared: Path, tmp_path: Path) -> None:
    """Spark may run a task twice (retry, speculation): only the kept attempt's files stay."""
    [query] = get_source("azure_llm_2023").read([shared / AZURE], ReadContext())
    stage = tmp_path / "requests"
    task = _Task(0, query, stage, "t", threads=1)
    first, second = _run_task(task), _run_task(task)
    assert first.written == second.written == 19_366
    _keep_attempt(second, stage)
    assert [p.name for p in stage.iterdir()] == ["part-0-0.parquet"]
    [(n,)] = duckdb.sql(f"SELECT count(*) FROM read_parquet('{stage}/*.parquet')").fetchall()
    assert n == 19_366


def test_unknown_engines_are_usage_errors() -> None:
    with pytest.raises(UsageError, match=r"unknown engine 'flink'.*duckdb, spark"):
        make_runner("flink")


def test_the_cli_refuses_an_unknown_engine(cli, shared: Path, tmp_path: Path) -> None:
    code, _, err = cli("ingest", shared / AZURE, "--lake", tmp_path / "l", "--engine", "flink")
    assert code == 2 and "--engine" in err and "sc://host:port" in err
    assert not (tmp_path / "l").exists()


def test_a_stray_attempt_folder_in_the_lake_is_never_read(
    cli, shared: Path, tmp_path: Path
) -> None:
    """A speculative Spark attempt that outlives its job may leave `_attempt-*` behind."""
    import shutil

    from analysis.db import LakeDB

    lake = tmp_path / "lake"
    assert cli("ingest", shared / AZURE, "--lake", lake)[0] == 0
    trace_dir = lake / "requests" / "trace=azure_llm_2023_conv"
    stray = trace_dir / "_attempt-0-0123456789ab"
    stray.mkdir()
    for f in trace_dir.glob("*.parquet"):
        shutil.copy(f, stray / f.name)
    db = LakeDB(lake)
    try:
        assert db.scalar("SELECT count(*) FROM requests") == 19_366
    finally:
        db.close()
