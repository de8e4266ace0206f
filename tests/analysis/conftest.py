"""A lake built once per test session from the real samples, shared by analysis tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.db import LakeDB
from ingest.pipeline import ingest_paths
from tests.conftest import FIXTURES, SHARED


@pytest.fixture(scope="session")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every real sample plus the schema fixtures (BurstGPT, Huawei, Acme jobs, ...)."""
    if not SHARED.is_dir():
        pytest.fail(f"Real samples not found at {SHARED}: clone the project beside ../shared.")
    lake = tmp_path_factory.mktemp("analysis") / "lake"
    report = ingest_paths(
        [
            SHARED,
            FIXTURES / "burstgpt_schema_fixture.csv",
            FIXTURES / "huawei_2025",
            FIXTURES / "acme",
        ],
        lake,
    )
    assert not report.failures, report.failures
    return lake


@pytest.fixture
def db(sample_lake: Path) -> LakeDB:
    lake_db = LakeDB(sample_lake)
    yield lake_db  # type: ignore[misc]
    lake_db.close()
