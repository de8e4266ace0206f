"""Spark parity tests: one local[2] Spark session per test session, over the sample lake.

They skip, saying why, when the `spark` extra (pyspark, sqlglot) or Java is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.db import LakeDB
from analysis.engines import spark_available


def pytest_configure(config: pytest.Config) -> None:
    # Until pyproject.toml declares it: --strict-markers would refuse the marker.
    config.addinivalue_line("markers", "spark: runs queries on a local Apache Spark (Java 17)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def spark() -> Any:
    why = spark_available()
    if why:
        pytest.skip(f"Spark parity tests need Spark: {why}")
    from analysis.engines import spark_session

    return spark_session()


@pytest.fixture(scope="session")
def duck_db(sample_lake: Path) -> Iterator[LakeDB]:
    db = LakeDB(sample_lake)
    yield db
    db.close()


@pytest.fixture(scope="session")
def spark_db(sample_lake: Path, spark: Any) -> Iterator[LakeDB]:
    from analysis.engines import SparkEngine

    db = LakeDB(sample_lake, engine=SparkEngine(session=spark))
    yield db
    db.close()
