"""The analysis tests' LakeDB over the session's sample lake (tests/conftest.py builds it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.db import LakeDB


@pytest.fixture
def db(sample_lake: Path) -> LakeDB:
    lake_db = LakeDB(sample_lake)
    yield lake_db  # type: ignore[misc]
    lake_db.close()
