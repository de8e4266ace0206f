"""The analysis tests' LakeDB over the session's sample lake (tests/conftest.py builds it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.db import LakeDB
from analysis.report import BUILDERS
from analysis.section import Section


@pytest.fixture
def db(sample_lake: Path) -> LakeDB:
    lake_db = LakeDB(sample_lake)
    yield lake_db  # type: ignore[misc]
    lake_db.close()


def section_of(key: str, db: LakeDB, trace: str) -> Section | None:
    """The report's section `key` of one trace, both steps (compute, then presentation) run as
    `traces report` runs them; None when the analysis does not apply."""
    analysis = next(a for a in BUILDERS if a.key == key)
    ran = analysis.run(db, trace)
    return None if ran is None else ran[1]
