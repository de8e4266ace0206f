"""Shared test helpers. Real samples are read from ../shared/traces, never copied here."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "traces"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_report_header(config: pytest.Config) -> list[str]:
    import duckdb
    import polars
    import pyarrow
    import sklearn

    return [
        f"duckdb {duckdb.__version__}, polars {polars.__version__}, "
        f"pyarrow {pyarrow.__version__}, scikit-learn {sklearn.__version__}",
        f"real samples: {SHARED} ({'found' if SHARED.is_dir() else 'MISSING'})",
    ]


@pytest.fixture(scope="session")
def shared() -> Path:
    """The real trace samples. Missing samples fail the test: they are never skipped."""
    if not SHARED.is_dir():
        pytest.fail(f"Real samples not found at {SHARED}: clone the project beside ../shared.")
    return SHARED


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake"


CliResult = tuple[int, str, str]


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    """Run `traces ARGS...` in-process: (exit code, stdout, stderr)."""
    import traces_cli

    def run(*args: str | Path) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["traces", *map(str, args)])
        monkeypatch.setenv("COLUMNS", "200")
        capsys.readouterr()
        code = 0
        try:
            traces_cli.main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def ingest_one(lake_dir: Path) -> Callable[..., object]:
    """Ingest files with one source object (registered or not): returns the TraceResult."""
    from ingest.lake import Lake
    from ingest.pipeline import Plan, ingest_trace

    def run(source, files, trace=None, max_rejected=0.01):
        files = tuple(Path(f) for f in files)
        lake = Lake.open(lake_dir, create=True)
        name = trace or source.default_trace(files[0])
        return ingest_trace(lake, Plan(source, name, files), max_rejected)

    return run


def lake_sql(lake_dir: Path, sql: str) -> list[tuple[object, ...]]:
    """Run SQL over the lake with one view per canonical table (requests, jobs, ...)."""
    import duckdb

    from ingest.schema import TABLES

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table in TABLES:
        if any((lake_dir / table).glob("trace=*/*.parquet")):
            glob = str(lake_dir / table / "**" / "*.parquet")
            con.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{glob}', "
                "hive_partitioning=true, union_by_name=true)"
            )
    return con.execute(sql).fetchall()


def sample_inputs() -> list[Path]:
    """What the sample lake holds: every real sample, and the labelled schema fixtures where no
    real rows exist."""
    return [
        SHARED,
        FIXTURES / "burstgpt_schema_fixture.csv",
        FIXTURES / "huawei_2025",
        FIXTURES / "acme",
    ]


@pytest.fixture(scope="session")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One lake per test session: every real sample plus the schema fixtures (BurstGPT,
    Huawei 2025, Acme jobs), shared by the analysis, dashboard and notebook tests."""
    from ingest.pipeline import ingest_paths

    if not SHARED.is_dir():
        pytest.fail(f"Real samples not found at {SHARED}: clone the project beside ../shared.")
    lake = tmp_path_factory.mktemp("samples") / "lake"
    report = ingest_paths(sample_inputs(), lake)
    assert not report.failures, report.failures
    return lake


@pytest.fixture(scope="session")
def full_report(sample_lake: Path) -> Any:
    """The report of the whole sample lake, built once per session (about 30 s): the report
    tests read it in every format. Tests only render it; none may change it."""
    from analysis.db import LakeDB
    from analysis.report import build_report

    db = LakeDB(sample_lake)
    try:
        return build_report(db)
    finally:
        db.close()
