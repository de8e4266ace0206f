"""A kill at any moment of a commit leaves the old trace or the new one, data and manifest
together, and the next command on the lake finishes the job and removes the leftovers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ingest.lake import Lake
from ingest.pipeline import Plan, ingest_trace
from ingest.sources import azure_llm_inference
from tests.conftest import ROOT, lake_sql

AZURE = "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
OLD_ROWS = 120

# Runs one ingest in a child process that dies (os._exit, like kill -9: no clean-up code
# runs) just before the commit's rename number K, or, with K = "done", right after the
# commit was marked done and before anything was cleaned up.
CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from ingest import lake as L
    from ingest.lake import Lake
    from ingest.pipeline import Plan, ingest_trace
    from ingest.sources import azure_llm_inference

    lake_dir, csv, k = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    real_rename, real_apply, real_replay = Path.rename, L._apply, L._replay

    def apply(root, journal):
        done = [0]
        def rename(self, target):
            if k != "done" and done[0] == int(k):
                os._exit(9)
            done[0] += 1
            return real_rename(self, target)
        Path.rename = rename
        try:
            real_apply(root, journal)
        finally:
            Path.rename = real_rename

    def replay(root, journal):
        if k == "done" and journal.get("state") == "done":
            os._exit(9)
        real_replay(root, journal)

    L._apply, L._replay = apply, replay
    plan = Plan(azure_llm_inference.SOURCE_2023, "conv", (csv,))
    ingest_trace(Lake.open(lake_dir), plan)
    """
)


@pytest.fixture(scope="module")
def files(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    full = shared / AZURE
    lines = full.read_text().splitlines(keepends=True)
    old = tmp_path_factory.mktemp("old") / "old.csv"
    old.write_text("".join(lines[: OLD_ROWS + 1]))
    return old, full


# Re-ingesting a one-table trace without rejects renames four things: the old requests
# folder and manifest aside, the new ones in. A kill before each, and one after the last.
@pytest.mark.parametrize("kill_at", ["0", "1", "2", "3", "done"])
def test_a_kill_during_commit_leaves_old_or_new(
    files: tuple[Path, Path], tmp_path: Path, kill_at: str
) -> None:
    old, new = files
    lake_dir = tmp_path / "lake"
    plan = Plan(azure_llm_inference.SOURCE_2023, "conv", (old,))
    ingest_trace(Lake.open(lake_dir, create=True), plan)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(lake_dir), str(new), kill_at],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 9, child.stderr[-2000:]
    assert (lake_dir / "_journal").is_dir()  # the kill did leave a commit half done

    lake = Lake.open(lake_dir)  # any command: recovery runs here
    manifest = json.loads((lake_dir / "_manifest/conv.json").read_text())
    rows = lake_sql(lake_dir, "SELECT count(*) FROM requests")[0][0]
    expected = 19366 if kill_at == "done" else OLD_ROWS
    assert rows == manifest["rows_written"] == expected
    assert manifest["files"][0]["path"] == str((new if kill_at == "done" else old).resolve())
    assert not any((lake_dir / "_journal").iterdir())
    assert not any((lake_dir / "_trash").iterdir()) if (lake_dir / "_trash").exists() else True
    assert [p for p in (lake_dir / "_staging").iterdir()] == []
    assert [m["trace"] for m in lake.manifests()] == ["conv"]


def test_the_commit_has_four_renames(files: tuple[Path, Path], tmp_path: Path) -> None:
    # Pins the kill points above: no kill happens when the child would die before a fifth.
    old, new = files
    ingest_trace(
        Lake.open(tmp_path, create=True),
        Plan(azure_llm_inference.SOURCE_2023, "conv", (old,)),
    )
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), str(new), "4"], cwd=ROOT, timeout=120
    )
    assert child.returncode == 0


def test_a_dead_ingests_stage_is_removed_and_a_live_one_kept(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake", create=True)
    live = lake.stage("alive")
    (live.path / "requests").mkdir()
    dead = tmp_path / "lake/_staging/dead-000000000000"
    dead.mkdir()
    (dead.parent / "dead-000000000000.lock").touch()  # its process is gone: lock is free
    Lake.open(tmp_path / "lake")
    assert live.path.is_dir()
    assert not dead.exists()
    live.discard()


def test_two_writers_of_one_trace_do_not_interleave(shared: Path, tmp_path: Path) -> None:
    lake_dir = tmp_path / "lake"
    Lake.open(lake_dir, create=True)
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from ingest.lake import Lake
        from ingest.pipeline import Plan, ingest_trace
        from ingest.sources import azure_llm_inference
        plan = Plan(azure_llm_inference.SOURCE_2023, "conv", (Path(sys.argv[2]),))
        for _ in range(3):
            ingest_trace(Lake.open(Path(sys.argv[1])), plan)
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(lake_dir), str(shared / AZURE)], cwd=ROOT
        )
        for _ in range(2)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    manifest = json.loads((lake_dir / "_manifest/conv.json").read_text())
    assert lake_sql(lake_dir, "SELECT count(*) FROM requests") == [(19366,)]
    assert manifest["rows_written"] == 19366
