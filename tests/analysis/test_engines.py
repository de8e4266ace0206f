"""The engine seam under LakeDB: DuckDB by default; Spark only when asked and available."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import engines
from analysis.db import LakeDB
from ingest.errors import UsageError


def test_duckdb_is_the_default(db: LakeDB) -> None:
    assert isinstance(db.engine, engines.DuckDBEngine)
    assert db.con is db.engine.con
    assert db.scalar("SELECT 1 + $x", x=1) == 2


def test_unknown_engine_is_refused(sample_lake: Path) -> None:
    with pytest.raises(UsageError, match="unknown engine 'presto'"):
        LakeDB(sample_lake, engine="presto")


def test_spark_without_its_extra_says_how_to_install(
    sample_lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engines, "spark_available", lambda remote=None: "pyspark missing")
    with pytest.raises(UsageError, match=r"pip install '\.\[spark\]'"):
        LakeDB(sample_lake, engine="spark")
