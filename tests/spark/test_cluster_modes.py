"""Beyond a local session: Spark Connect (`--engine sc://host:port`) and spark-submit.

The server is a real one (pyspark's Spark Connect server class, local[2]) in its own process
and working directory, and the commands run as a user runs them, in a fresh `traces` process
(PySpark allows no remote session beside the tests' local one), so nothing leaks through a
shared session or a relative path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from analysis import report
from analysis.db import LakeDB
from ingest.pipeline import ingest_paths
from tests.spark.test_ingest import lake_differences
from tests.spark.test_parity import mismatches

TRACES = ("azure_llm_2023_conv", "google_2011_jobs", "azure_functions_2019")


def traces(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`traces ARGS...` in a new process."""
    return subprocess.run(
        [sys.executable, "-c", "import traces_cli; traces_cli.main()", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def test_the_report_on_spark_connect_is_the_duckdb_report(
    duck_db: LakeDB, sample_lake: Path, spark_connect_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "connect.json"
    picks = [a for t in TRACES for a in ("--trace", t)]
    done = traces(
        "report", "--lake", sample_lake, *picks, "--engine", spark_connect_url, "-f", "json",
        "-o", out,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    on_duckdb = report.to_json(report.build_report(duck_db, TRACES))
    assert mismatches(on_duckdb, json.loads(out.read_text())) == []


def test_ingest_on_spark_connect_writes_the_duckdb_lake(
    shared: Path, spark_connect_url: str, tmp_path: Path
) -> None:
    folders = [
        Path("llm_serving/azure_llm_inference_2023"),
        Path("serverless/azure_functions_2021"),
        Path("datacenter/google_borg_2011"),
    ]
    # relative paths, as typed in `shared`: they are resolved before they reach the server
    done = traces(
        "ingest", *folders, "--lake", tmp_path / "connect", "--engine", spark_connect_url,
        cwd=shared,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "google_2011_tasks" in done.stdout
    on_duckdb = ingest_paths([shared / f for f in folders], tmp_path / "duckdb")
    assert not on_duckdb.failures and len(on_duckdb.results) == 4
    assert lake_differences(tmp_path / "connect", tmp_path / "duckdb") == {}


def test_spark_submit_runs_the_cli_with_its_master(
    duck_db: LakeDB, sample_lake: Path, spark_home: Path, tmp_path: Path
) -> None:
    """The README's cluster command, with local[2] standing in for yarn or k8s://."""
    import os

    home = spark_home
    out = tmp_path / "submit.json"
    cli = Path(__file__).resolve().parents[2] / "traces_cli.py"
    env = {**os.environ, "SPARK_HOME": str(home), "PYSPARK_PYTHON": sys.executable}
    done = subprocess.run(
        [
            str(home / "bin" / "spark-submit"), "--master", "local[2]", str(cli), "report",
            "--engine", "spark", "--lake", str(sample_lake), "--trace", "google_2011_jobs",
            "-f", "json", "-o", str(out),
        ],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    on_duckdb = report.to_json(report.build_report(duck_db, ["google_2011_jobs"]))
    assert mismatches(on_duckdb, json.loads(out.read_text())) == []
