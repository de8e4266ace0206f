"""The CLI's contract with its user: exit codes (1 bad data, 2 bad usage, 130 Ctrl-C), one
message per cause and never "Unexpected error" for something a user can cause, and output that
can be redirected to a file as it is."""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SHARED

AZURE = SHARED / "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
MOONCAKE = SHARED / "llm_serving/mooncake_fast25/conversation_trace.jsonl"
UNEXPECTED = "Unexpected error"


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes: a lake is unchanged when this is."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two one-trace lakes of real samples, built once: Mooncake (12,031 requests) and Azure
    2023 conversation (19,366)."""
    from ingest.pipeline import ingest_paths

    root = tmp_path_factory.mktemp("contract")
    built = {}
    for name, sample in (("mooncake", MOONCAKE), ("azure", AZURE)):
        lake = root / name / "lake"
        report = ingest_paths([sample], lake)
        assert not report.failures, report.failures
        built[name] = lake
    return built


def copy_lake(lake: Path, to: Path) -> Path:
    shutil.copytree(lake, to)
    return to


# --- traces schema > file -----------------------------------------------------------------


def test_schema_redirected_to_a_file_is_exactly_docs_schema(tmp_path: Path) -> None:
    target = tmp_path / "schema.md"
    env = {**os.environ, "COLUMNS": "40"}  # a narrow terminal must not wrap a file either
    with target.open("wb") as stdout:
        subprocess.run(
            [sys.executable, "-c", "import traces_cli; traces_cli.main()", "schema"],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            check=True,
            timeout=120,
        )
    assert target.read_bytes() == (ROOT / "docs" / "schema.md").read_bytes()


def test_a_long_path_in_a_message_is_never_split_across_lines(
    lakes: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / ("a-folder-with-a-long-name-" * 4) / "report.json"
    target.parent.mkdir()
    env = {**os.environ, "COLUMNS": "40"}  # piped output of a narrow terminal
    done = subprocess.run(
        [sys.executable, "-c", "import traces_cli; traces_cli.main()", "report", "--lake",
         str(lakes["mooncake"]), "--format", "json", "--out", str(target)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    assert any(line.startswith(f"Wrote {target} ") for line in done.stdout.splitlines())


# --- usage errors: exit 2 -----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["info"],
        ["report", "--format", "json"],
        ["train", "output-length", "--trace", "x", "--out", "{tmp}/m"],
        ["evaluate", "{tmp}/m", "--trace", "x"],
        ["dashboard"],
    ],
    ids=lambda a: a[0],
)
def test_missing_lake_is_a_usage_error(cli, tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "no" / "lake"
    code, out, err = cli(*(a.format(tmp=tmp_path) for a in args), "--lake", missing)
    assert code == 2, err
    assert err.startswith(f"No lake at {missing}. Ingest something first: `traces ingest PATH")
    assert UNEXPECTED not in out + err
    assert not missing.exists()


def test_missing_lake_from_the_environment_is_a_usage_error(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACES_LAKE", str(tmp_path / "envlake"))
    code, _, err = cli("info")
    assert code == 2 and f"No lake at {tmp_path / 'envlake'}" in err


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--format", "json", "--out", "{tmp}/r.json", "--trace", "mooncake_conversaton"],
        ["train", "output-length", "--trace", "mooncake_conversaton", "--out", "{tmp}/m"],
        ["evaluate", "{tmp}/m", "--trace", "mooncake_conversaton"],
    ],
    ids=lambda a: a[0],
)
def test_unknown_trace_is_a_usage_error_that_lists_the_traces(
    cli, lakes: dict[str, Path], tmp_path: Path, args: list[str]
) -> None:
    code, out, err = cli(*(a.format(tmp=tmp_path) for a in args), "--lake", lakes["mooncake"])
    assert code == 2, err
    assert err.strip() == (
        f"No trace named 'mooncake_conversaton' in the lake at {lakes['mooncake']}. "
        "Did you mean 'mooncake_conversation'? Traces: mooncake_conversation."
    )
    assert UNEXPECTED not in out + err
    assert not (tmp_path / "m").exists() and not (tmp_path / "r.json").exists()


def test_unknown_family_is_a_usage_error_that_lists_the_families(cli) -> None:
    from ingest.catalog import FAMILIES

    code, out, err = cli("datasets", "--family", "serverles")
    assert code == 2
    assert err.strip() == (
        "Unknown family 'serverles' for --family. Did you mean 'serverless'? Families: "
        "llm_serving, serverless, datacenter, vm_interference."
    )
    assert FAMILIES == ("llm_serving", "serverless", "datacenter", "vm_interference")
    code, out, _ = cli("datasets", "--family", "serverless")
    assert code == 0 and "azure_functions_2019" in out and "azure_llm_2023" not in out


# --- Ctrl-C: exit 130, the trace being ingested is discarded -------------------------------


def test_ctrl_c_during_ingest_leaves_the_lake_as_it_was(
    cli, lakes: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import traces_cli

    lake = copy_lake(lakes["mooncake"], tmp_path / "lake")
    before = snapshot(lake)
    calls: list[int] = []

    def interrupt(self: object, done: int) -> None:
        # The runner reports progress once a table's query has run: its Parquet is staged.
        calls.append(done)
        raise KeyboardInterrupt

    monkeypatch.setattr(traces_cli.RichProgress, "update", interrupt)
    code, out, err = cli("ingest", AZURE, "--lake", lake)
    assert calls, "the ingest was not interrupted where the test meant"
    assert code == 130
    assert err.strip().startswith("Interrupted (Ctrl-C). The trace being ingested was discarded")
    assert UNEXPECTED not in out + err
    assert snapshot(lake) == before
    monkeypatch.undo()
    code, out, _ = cli("info", "--lake", lake)  # the lake still works
    assert code == 0 and "mooncake_conversation" in out and "azure" not in out


@pytest.mark.parametrize("kind", ["runtime", "duckdb"])
def test_ctrl_c_inside_a_duckdb_query_is_an_interrupt(
    cli, lakes: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Ctrl-C while DuckDB runs a query (as the ingest's queries mostly are) reaches Python as
    DuckDB's "Query interrupted" error, not as KeyboardInterrupt: seen with a real SIGINT."""
    import duckdb

    import traces_cli

    lake = copy_lake(lakes["mooncake"], tmp_path / "lake")
    before = snapshot(lake)

    def interrupt(self: object, done: int) -> None:
        if kind == "runtime":
            raise RuntimeError("Query interrupted")
        raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")

    monkeypatch.setattr(traces_cli.RichProgress, "update", interrupt)
    code, out, err = cli("ingest", AZURE, "--lake", lake)
    assert code == 130
    assert err.strip().startswith("Interrupted (Ctrl-C). The trace being ingested was discarded")
    assert UNEXPECTED not in out + err
    assert snapshot(lake) == before


def test_ctrl_c_in_a_reading_command_says_the_lake_is_unchanged(
    cli, lakes: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import traces_cli

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(traces_cli, "_trace_table", interrupt)
    code, out, err = cli("info", "--lake", lakes["mooncake"])
    assert code == 130 and err.strip() == "Interrupted (Ctrl-C). The lake is unchanged."
    assert UNEXPECTED not in out + err


# --- a read-only lake ---------------------------------------------------------------------


@pytest.fixture
def read_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """Make a folder read-only. chmod does that for a normal user; for root (who runs the
    tests in some containers and is not stopped by permissions) every write Python makes
    under the folder fails with EROFS, as on a read-only mount."""
    made: list[Path] = []

    def make(root: Path) -> None:
        for p in [root, *root.rglob("*")]:
            p.chmod(0o555 if p.is_dir() else 0o444)
        made.append(root)
        if os.access(root, os.W_OK):
            _refuse_writes_under(monkeypatch, root)

    yield make
    for root in made:
        for p in [root, *root.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)


def _refuse_writes_under(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    top = str(root.resolve())

    def inside(path: Any) -> bool:
        if isinstance(path, int):
            return False
        p = os.path.abspath(os.fsdecode(path))
        return p == top or p.startswith(top + os.sep)

    def refuse(path: Any) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    real_os_open, real_open, real_mkdir = os.open, builtins.open, os.mkdir

    def os_open(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if inside(path) and flags & writes:
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    def py_open(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if inside(file) and set(mode) & set("wax+"):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]

    def mkdir(path: object, *args: object, **kwargs: object) -> None:
        if inside(path):
            if os.path.exists(path):  # type: ignore[arg-type]
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path)
            refuse(path)
        real_mkdir(path, *args, **kwargs)  # type: ignore[arg-type]

    def guard(real: Callable[..., object]) -> Callable[..., object]:
        def check(*paths: object, **kwargs: object) -> object:
            for p in paths[:2]:
                if inside(p):
                    refuse(p)
            return real(*paths, **kwargs)

        return check

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", py_open)
    monkeypatch.setattr(io, "open", py_open)
    monkeypatch.setattr(os, "mkdir", mkdir)
    for name in ("replace", "rename", "unlink", "remove", "rmdir"):
        monkeypatch.setattr(os, name, guard(getattr(os, name)))


def test_ingest_into_a_read_only_lake_names_the_path(
    cli, lakes: dict[str, Path], tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    lake = copy_lake(lakes["mooncake"], tmp_path / "lake")
    before = snapshot(lake)
    read_only(lake)
    code, out, err = cli("ingest", AZURE, "--lake", lake)
    assert code == 1, out + err
    assert str(lake) in err and "read-only" in err.lower()
    assert UNEXPECTED not in out + err and "Traceback" not in err
    assert snapshot(lake) == before


def test_reading_a_read_only_lake_works(
    cli, lakes: dict[str, Path], tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    lake = copy_lake(lakes["mooncake"], tmp_path / "lake")
    read_only(lake)
    code, out, err = cli("info", "--lake", lake)
    assert code == 0, err
    assert "mooncake_conversation" in out and "12,031" in out


def test_report_to_a_read_only_folder_names_the_path(
    cli, lakes: dict[str, Path], tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    read_only(folder)
    target = folder / "r.json"
    code, out, err = cli("report", "--lake", lakes["mooncake"], "--format", "json", "--out", target)
    assert code == 1, out + err
    assert str(folder) in err and "read-only" in err and "pass --out with a folder" in err
    assert UNEXPECTED not in out + err
    assert not target.exists()


# --- a lake whose path holds DuckDB's glob characters -------------------------------------


GLOB_NAMES = [("runs[1]", "runs1"), ("a*b", "aXb"), ("a?b", "aXb"), ("trace=x", "other")]


@pytest.mark.parametrize(("odd", "twin"), GLOB_NAMES)
def test_lake_path_with_glob_characters_reads_only_that_lake(
    cli, lakes: dict[str, Path], tmp_path: Path, odd: str, twin: str
) -> None:
    # Read as a pattern, `runs[1]/lake` would match the Azure lake at `runs1/lake` beside it.
    lake = copy_lake(lakes["mooncake"], tmp_path / odd / "lake")
    copy_lake(lakes["azure"], tmp_path / twin / "lake")
    code, out, err = cli("info", "--lake", lake)
    assert code == 0, err
    assert "mooncake_conversation" in out and "12,031" in out and "azure" not in out
    glob = str(lake).replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")
    assert f"read_parquet('{glob}/requests/trace=*/*.parquet', hive_partitioning=false)" in out
    # The hint printed for DuckDB reads this lake's rows, and only them.
    import duckdb

    hint = out[out.index("read_parquet(") :].strip()
    assert duckdb.sql(f"SELECT trace, count(*) FROM {hint} GROUP BY trace").fetchall() == [  # type: ignore[union-attr]
        ("mooncake_conversation", 12031)
    ]


def test_report_on_a_lake_path_with_brackets(cli, lakes: dict[str, Path], tmp_path: Path) -> None:
    lake = copy_lake(lakes["mooncake"], tmp_path / "runs[1]" / "lake")
    copy_lake(lakes["azure"], tmp_path / "runs1" / "lake")
    target = tmp_path / "r.json"
    code, out, err = cli("report", "--lake", lake, "--format", "json", "--out", target)
    assert code == 0, err
    assert UNEXPECTED not in out + err
    report = json.loads(target.read_text())
    assert sorted(report["traces"]) == ["mooncake_conversation"]


@pytest.mark.parametrize(("odd", "twin"), GLOB_NAMES)
def test_lake_db_reads_only_the_lake_it_was_given(
    lakes: dict[str, Path], tmp_path: Path, odd: str, twin: str
) -> None:
    from analysis.db import LakeDB

    lake = copy_lake(lakes["mooncake"], tmp_path / odd / "lake")
    copy_lake(lakes["azure"], tmp_path / twin / "lake")
    db = LakeDB(lake)
    try:
        rows = db.sql("SELECT trace, count(*) AS n FROM requests GROUP BY trace").rows()
    finally:
        db.close()
    assert rows == [("mooncake_conversation", 12031)]


# --- what the documented commands write is ignored by git ---------------------------------

# An option or a redirect that names where a documented command writes, relative to the checkout.
_WRITES = re.compile(r"(--out|-o|--dest|--lake|--models)[ =]([^\s`'\"|]+)|>\s*([^\s`'\"|]+)")
_FOLDER_OPTIONS = {"--dest", "--lake", "--models"}


def documented_outputs() -> set[str]:
    """Relative paths that the example commands of the README, the Makefile and `traces
    --help` write to (folders end in '/'), plus the commands' default outputs."""
    found = {"lake/", "data/azure_llm_2023/", "report.html", "report.json", "report.md"}
    for name in ("README.md", "Makefile", "traces_cli.py"):
        for line in (ROOT / name).read_text().splitlines():
            if name.endswith(".py") and line.lstrip().startswith("#"):
                continue  # a code comment, not an example
            if not re.search(r"\btraces (ingest|report|train|fetch|schema|dashboard)\b", line):
                continue
            for m in _WRITES.finditer(line):
                option, path = m.group(1), m.group(2) or m.group(3)
                placeholder = re.search(r"[A-Z]{3}|[{}\[\]$]", path)
                if placeholder or path.startswith(("/", "..")) or ":" in path:
                    continue
                folder = option in _FOLDER_OPTIONS or (
                    option in ("--out", "-o") and " train " in line
                )
                found.add(path.removeprefix("./").rstrip("/") + ("/" if folder else ""))
    return found


def test_outputs_of_the_documented_commands_are_ignored_by_git() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to ignore files for")
    outputs = documented_outputs()
    # The commands this test must see, so that a change in the parsing cannot empty it.
    assert {"models/ol/", "azure.json", "r.html", "schema.md", "data/azure2023/"} <= outputs
    paths = [p + "model.json" if p.endswith("/") else p for p in sorted(outputs)]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=ROOT,
        input="\n".join(paths),
        capture_output=True,
        text=True,
        check=False,
    )
    ignored = set(result.stdout.split())
    assert [p for p in paths if p not in ignored] == []
    # The schema doc itself is tracked: `/schema.md` ignores only the checkout's top level.
    assert (
        "docs/schema.md"
        not in subprocess.run(
            ["git", "check-ignore", "--no-index", "docs/schema.md"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    )
