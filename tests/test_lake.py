"""The lake's guarantees: a failed or interrupted ingest changes nothing; re-ingest replaces."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from ingest import lake as lake_module
from ingest.errors import LakeError, NoLake
from ingest.lake import Lake
from ingest.pipeline import Plan, ingest_trace
from ingest.sources import azure_llm_inference, mooncake
from tests.conftest import lake_sql

AZURE = "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _plan(shared: Path, trace: str = "azure_llm_2023_conv") -> Plan:
    return Plan(azure_llm_inference.SOURCE_2023, trace, (shared / AZURE,))


def test_failure_while_committing_restores_the_old_trace(
    shared: Path, lake_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake.open(lake_dir, create=True)
    ingest_trace(lake, _plan(shared))
    before = _snapshot(lake_dir)

    def boom(path: Path, data: object) -> None:
        raise OSError("disk full")

    # The manifest is written last, after the table folders were swapped: the worst moment.
    monkeypatch.setattr(lake_module, "_write_json", boom)
    with pytest.raises(OSError, match="disk full"):
        ingest_trace(lake, _plan(shared))
    assert _snapshot(lake_dir) == before
    assert lake_sql(lake_dir, "SELECT count(*) FROM requests") == [(19366,)]


def test_interrupt_during_read_leaves_nothing_behind(shared: Path, lake_dir: Path) -> None:
    lake = Lake.open(lake_dir, create=True)
    ingest_trace(lake, _plan(shared))
    before = _snapshot(lake_dir)

    def interrupted(paths, ctx):  # type: ignore[no-untyped-def]
        yield from mooncake.read(paths, ctx)
        raise KeyboardInterrupt

    source = dataclasses.replace(mooncake.SOURCE, read=interrupted)
    moon = shared / "llm_serving/mooncake_fast25/conversation_trace.jsonl"
    with pytest.raises(KeyboardInterrupt):
        ingest_trace(lake, Plan(source, "azure_llm_2023_conv", (moon,)))
    assert _snapshot(lake_dir) == before
    assert not any((lake_dir / "_staging").iterdir())


def test_traces_are_independent(shared: Path, lake_dir: Path) -> None:
    lake = Lake.open(lake_dir, create=True)
    ingest_trace(lake, _plan(shared, "first"))
    ingest_trace(lake, _plan(shared, "second"))
    ingest_trace(lake, _plan(shared, "first"))
    rows = lake_sql(lake_dir, "SELECT trace, count(*) FROM requests GROUP BY 1 ORDER BY 1")
    assert rows == [("first", 19366), ("second", 19366)]
    assert sorted(m["trace"] for m in lake.manifests()) == ["first", "second"]


def test_open_refuses_what_is_not_a_lake(tmp_path: Path) -> None:
    with pytest.raises(NoLake, match="No lake at"):
        Lake.open(tmp_path / "absent")
    (tmp_path / "file").write_text("x")
    with pytest.raises(LakeError, match="is a file"):
        Lake.open(tmp_path / "file", create=True)
