"""Ingest never silently replaces a trace with data from other files.

The reviewer's scenario: a workload generated from `azure_llm_2023_conv` and written as
`conv.csv` is detected as that same trace; `traces ingest conv.csv` used to replace the real
trace with it. Now the trace is refused (exit 2, the lake byte-identical) unless `--replace`;
`--trace NEW_NAME` adds it beside. The same files again (by resolved absolute path, whatever
their contents now) still refresh their trace.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ingest import pipeline
from ingest.errors import TraceExists
from ingest.pipeline import ingest_paths
from tests.conftest import lake_sql

AZURE = "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
MOONCAKE = "llm_serving/mooncake_fast25/conversation_trace.jsonl"
FUNCTIONS = "serverless/azure_functions_2019_invitro_sample100"
TRACE = "azure_llm_2023_conv"


def _snapshot(lake: Path) -> dict[str, bytes | None]:
    """Every file of the lake with its bytes, and every folder (None)."""
    return {
        str(p.relative_to(lake)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(lake.rglob("*"))
    }


def _head(src: Path, dest: Path, lines: int) -> Path:
    with src.open("rb") as f:
        dest.write_bytes(b"".join(f.readline() for _ in range(lines)))
    return dest


def _records(path: Path, header: bool) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f) - (1 if header else 0)


def _rows(lake: Path) -> dict[str, int]:
    return {str(t): int(str(n)) for t, n in lake_sql(lake, _COUNT)}


_COUNT = "SELECT trace, count(*) FROM requests GROUP BY trace"


def _manifest(lake: Path, trace: str) -> dict[str, object]:
    return json.loads((lake / "_manifest" / f"{trace}.json").read_text())


def _manifest_paths(lake: Path, trace: str) -> list[str]:
    files = _manifest(lake, trace)["files"]
    assert isinstance(files, list)
    return [f["path"] for f in files]


@pytest.fixture
def sample_lake(cli, shared: Path, lake_dir: Path) -> Path:
    """A lake holding the real Azure 2023 conversation sample as `azure_llm_2023_conv`."""
    code, _, err = cli("ingest", shared / AZURE, "--lake", lake_dir)
    assert code == 0, err
    return lake_dir


@pytest.fixture
def conv(shared: Path, tmp_path: Path) -> Path:
    """A file of another name that detection maps to the same trace: 99 requests."""
    return _head(shared / AZURE, tmp_path / "conv.csv", 100)


def test_other_file_under_an_existing_name_is_refused_and_the_lake_is_unchanged(
    cli, shared: Path, sample_lake: Path, conv: Path
) -> None:
    before = _snapshot(sample_lake)
    code, _, err = cli("ingest", conv, "--lake", sample_lake)
    assert code == 2, err
    assert _snapshot(sample_lake) == before
    assert _rows(sample_lake) == {TRACE: _records(shared / AZURE, header=True)}
    message = " ".join(err.split())
    assert TRACE in message
    assert str((shared / AZURE).resolve()) in message  # what it holds now
    assert str(conv.resolve()) in message  # the new files
    assert "--trace NEW_NAME" in message and "--replace" in message
    assert "Nothing" in message or "nothing" in message
    assert "Traceback" not in err


def test_trace_option_adds_the_file_beside_the_real_trace(
    cli, shared: Path, sample_lake: Path, conv: Path
) -> None:
    code, _, err = cli("ingest", conv, "--trace", "conv_x2", "--lake", sample_lake)
    assert code == 0, err
    assert _rows(sample_lake) == {
        TRACE: _records(shared / AZURE, header=True),
        "conv_x2": 99,
    }
    assert _manifest_paths(sample_lake, TRACE) == [str((shared / AZURE).resolve())]
    assert _manifest_paths(sample_lake, "conv_x2") == [str(conv.resolve())]


def test_replace_option_replaces_the_trace(cli, sample_lake: Path, conv: Path) -> None:
    code, _, err = cli("ingest", conv, "--replace", "--lake", sample_lake)
    assert code == 0, err
    assert _rows(sample_lake) == {TRACE: 99}
    assert _manifest_paths(sample_lake, TRACE) == [str(conv.resolve())]


def test_python_api_reports_the_refusal_and_replaces_when_asked(
    sample_lake: Path, conv: Path
) -> None:
    report = ingest_paths([conv], sample_lake)
    assert report.results == []
    [(plan, error)] = report.failures
    assert plan.trace == TRACE and isinstance(error, TraceExists) and error.exit_code == 2
    report = ingest_paths([conv], sample_lake, replace=True)
    assert [r.trace for r in report.results] == [TRACE] and not report.failures
    assert _rows(sample_lake) == {TRACE: 99}


def test_same_folder_from_another_working_directory_refreshes_the_trace(
    cli, shared: Path, sample_lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample was ingested as an absolute file path; its folder, given relative to
    another working directory, is the same file."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    folder = os.path.relpath(shared / AZURE, elsewhere).rsplit("/", 1)[0]
    before = _manifest(sample_lake, TRACE)
    code, _, err = cli("ingest", folder, "--lake", sample_lake)
    assert code == 0, err
    after = _manifest(sample_lake, TRACE)
    assert after["files"] == before["files"]
    assert _rows(sample_lake) == {TRACE: _records(shared / AZURE, header=True)}


def test_same_path_with_new_contents_still_replaces(
    cli, shared: Path, lake_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented refresh: the file at the same place changed (a new download)."""
    conv = _head(shared / AZURE, tmp_path / "conv.csv", 201)
    assert cli("ingest", conv, "--lake", lake_dir)[0] == 0
    assert _rows(lake_dir) == {TRACE: 200}
    _head(shared / AZURE, conv, 51)
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("ingest", "conv.csv", "--lake", lake_dir)
    assert code == 0, err
    assert _rows(lake_dir) == {TRACE: 50}


def test_generated_function_files_of_the_same_names_are_other_files(
    cli, shared: Path, lake_dir: Path, tmp_path: Path
) -> None:
    """The generator writes invocations.csv, durations.csv and memory.csv, the names of the
    Azure Functions 2019 sample's files: files are compared by path, not by name."""
    assert cli("ingest", shared / FUNCTIONS, "--lake", lake_dir)[0] == 0
    generated = tmp_path / "generated"
    shutil.copytree(shared / FUNCTIONS, generated)
    (generated / "SOURCE.md").unlink()
    before = _snapshot(lake_dir)
    code, _, err = cli("ingest", generated, "--lake", lake_dir)
    assert code == 2, err
    assert "azure_functions_2019" in err
    assert _snapshot(lake_dir) == before


def test_one_refused_trace_does_not_stop_the_others(
    cli, shared: Path, sample_lake: Path, conv: Path
) -> None:
    """conv.csv (refused) and a Mooncake file (a new trace) in one folder: the Mooncake
    trace is written, the Azure trace keeps every file as it was, the exit code says 2."""
    folder = conv.parent / "workloads"
    folder.mkdir()
    conv.rename(folder / "conv.csv")
    moon = _head(shared / MOONCAKE, folder / "conversation_trace.jsonl", 40)
    azure_files = {k: v for k, v in _snapshot(sample_lake).items() if TRACE in k}
    code, _, err = cli("ingest", folder, "--lake", sample_lake)
    assert code == 2, err
    assert TRACE in err and "--replace" in err
    after = _snapshot(sample_lake)
    assert {k: v for k, v in after.items() if TRACE in k} == azure_files
    rows = _rows(sample_lake)
    assert rows.pop(TRACE) == _records(shared / AZURE, header=True)
    [(new_trace, n)] = rows.items()
    assert n == _records(moon, header=False) == 40
    assert _manifest(sample_lake, new_trace)["source"] == "mooncake"


def test_the_check_runs_before_any_engine_starts(
    sample_lake: Path, conv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--engine spark` goes through the same check, before a Spark session is made."""

    def no_engine(engine: str) -> object:
        raise AssertionError(f"the {engine} engine was started for a refused trace")

    monkeypatch.setattr(pipeline, "make_runner", no_engine)
    before = _snapshot(sample_lake)
    report = ingest_paths([conv], sample_lake, engine="spark")
    [(_, error)] = report.failures
    assert isinstance(error, TraceExists)
    assert _snapshot(sample_lake) == before


def test_an_unreadable_manifest_does_not_block_reingesting(
    cli, sample_lake: Path, conv: Path
) -> None:
    """The lake's own message for a broken manifest is "re-ingest that trace": allowed."""
    (sample_lake / "_manifest" / f"{TRACE}.json").write_text("{not json")
    code, _, err = cli("ingest", conv, "--lake", sample_lake)
    assert code == 0, err
    assert _rows(sample_lake) == {TRACE: 99}
