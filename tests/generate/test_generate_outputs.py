"""Where `traces generate` may write, and how big a run may be: an --out or --json that is a
symbolic link is written through (the link stays), one that is a folder, a fifo or an open
descriptor (/dev/stdout) is refused before any work with exit 2, --json may not be the
workload's own file; a negative seed, a run expected to hold over 100 million events or under
one, and a duration over 366 days are usage errors (exit 2), never "Unexpected error"."""

from __future__ import annotations

import csv
import os
import re
import stat
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.generate.conftest import (
    AZURE,
    AZURE_TRACE,
    FAST,
    FUNCTIONS_2019_TRACE,
    KTH_TRACE,
    MOONCAKE_TRACE,
)

CliRun = Callable[..., tuple[int, str, str]]
UNEXPECTED = "Unexpected error"


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the trace fails the test: what is refused is refused before any work (the CLI
    would turn this into "Unexpected error", exit 1)."""
    from generate import source

    def boom(*_: object) -> None:
        raise AssertionError("the trace was read")

    monkeypatch.setattr(source, "profile", boom)


def refused(cli: CliRun, lake: Path, *args: str | Path) -> str:
    code, stdout, err = cli("generate", "--lake", lake, *args)
    assert code == 2, stdout + err
    assert UNEXPECTED not in stdout + err and "Traceback" not in stdout + err
    assert not stdout
    return " ".join(err.split())


def no_part_files(*folders: Path) -> None:
    for folder in folders:
        assert not [p.name for p in folder.iterdir() if p.name.endswith(".part")]


# ---------------------------------------------------------------- links are written through


def test_an_out_link_to_a_file_writes_the_file_and_keeps_the_link(
    gen_lake: Path, tmp_path: Path
) -> None:
    from generate.api import generate

    (tmp_path / "links").mkdir()
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "workload.csv"
    target.write_text("old contents\n")
    link = tmp_path / "links" / "w.csv"
    link.symlink_to(Path("..") / "data" / "workload.csv")  # a relative link
    r = generate(gen_lake, AZURE_TRACE, link, "vidur", arrival_models=FAST)
    assert link.is_symlink() and os.readlink(link) == str(Path("..") / "data" / "workload.csv")
    with target.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == r.events > 1000
    assert list(rows[0]) == ["arrived_at", "num_prefill_tokens", "num_decode_tokens"]
    no_part_files(tmp_path / "links", tmp_path / "data")


def test_a_link_to_a_file_not_there_yet_creates_it(gen_lake: Path, tmp_path: Path) -> None:
    from generate.api import generate

    link = tmp_path / "w.jsonl"
    link.symlink_to(tmp_path / "new" / "mc.jsonl")
    r = generate(gen_lake, MOONCAKE_TRACE, link, "mooncake", arrival_models=FAST)
    assert link.is_symlink()
    assert len((tmp_path / "new" / "mc.jsonl").read_text().splitlines()) == r.events


def test_azure_functions_companions_are_written_through_their_links(
    gen_lake: Path, tmp_path: Path
) -> None:
    """invitro's folder: durations.csv and memory.csv are links into another folder; each is
    written through, as invocations.csv is."""
    from generate.api import generate

    store, run = tmp_path / "store", tmp_path / "run"
    store.mkdir()
    run.mkdir()
    for name in ("invocations.csv", "durations.csv", "memory.csv"):
        (store / name).write_text("old\n")
        (run / name).symlink_to(store / name)
    r = generate(
        gen_lake, FUNCTIONS_2019_TRACE, run / "invocations.csv", "azure-functions",
        arrival_models=FAST,
    )  # fmt: skip
    assert [f.name for f in r.files] == ["invocations.csv", "durations.csv", "memory.csv"]
    for name in ("invocations.csv", "durations.csv", "memory.csv"):
        assert (run / name).is_symlink()
        with (store / name).open(newline="") as f:
            header = next(csv.reader(f))
        assert {"HashOwner", "HashApp", "HashFunction"} <= set(header), name
    no_part_files(store, run)


# ---------------------------------------------------------------- what cannot be replaced


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    yield path
    assert stat.S_ISFIFO(path.lstat().st_mode), "the fifo was replaced"


def test_a_fifo_is_refused_before_any_work(
    cli: CliRun, gen_lake: Path, fifo: Path, tmp_path: Path, no_work: None
) -> None:
    err = refused(cli, gen_lake, "-t", AZURE_TRACE, "-f", "vidur", "-o", fifo)
    assert err.startswith(f"--out {fifo} is a device, pipe, socket or open descriptor")
    assert "Write to a file and read that, e.g. `--out out.csv` then `cat out.csv`." in err
    # through a link, and as --json
    link = tmp_path / "to-pipe.csv"
    link.symlink_to(fifo)
    err = refused(cli, gen_lake, "-t", AZURE_TRACE, "-f", "vidur", "-o", link)
    assert err.startswith(f"--out {link} is a device, pipe")
    assert link.is_symlink()
    err = refused(
        cli, gen_lake, "-t", AZURE_TRACE, "-f", "vidur", "-o", tmp_path / "w.csv", "--json", fifo
    )
    assert err.startswith(f"--json {fifo} is a device, pipe")
    assert not (tmp_path / "w.csv").exists()


def test_an_open_descriptor_is_refused_even_when_it_is_a_file(
    cli: CliRun, gen_lake: Path, tmp_path: Path, no_work: None
) -> None:
    """`-o /dev/stdout > w.csv`: /dev/stdout leads through /proc/self/fd/1 to the file the
    shell opened; renaming onto that file would replace it under the shell, so it is refused
    like any descriptor. Shown on a descriptor of our own, not the real stdout."""
    captured = tmp_path / "captured.txt"
    captured.write_text("kept\n")
    with captured.open("a") as f:
        before = os.fstat(f.fileno()).st_ino
        link = tmp_path / "stdout"
        link.symlink_to(f"/proc/self/fd/{f.fileno()}")
        err = refused(cli, gen_lake, "-t", AZURE_TRACE, "-f", "vidur", "-o", link)
        assert err.startswith(f"--out {link} is a device, pipe, socket or open descriptor")
        assert link.is_symlink() and captured.stat().st_ino == before
    assert captured.read_text() == "kept\n"


def test_folders_are_refused_before_any_work(
    cli: CliRun, gen_lake: Path, tmp_path: Path, no_work: None
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    err = refused(cli, gen_lake, "-t", AZURE_TRACE, "-f", "vidur", "-o", folder)
    assert err == f"--out {folder} is a folder: pass --out a file name, e.g. {folder / 'FILE'}."
    out = tmp_path / "w.csv"
    err = refused(cli, gen_lake, "-t", AZURE_TRACE, "-f", "vidur", "-o", out, "--json", folder)
    assert err == f"--json {folder} is a folder: pass --json a file name, e.g. {folder / 'FILE'}."
    assert not out.exists()
    # azure-functions' companions too: a folder named memory.csv beside invocations.csv
    (tmp_path / "memory.csv").mkdir()
    err = refused(
        cli, gen_lake, "-t", FUNCTIONS_2019_TRACE, "-f", "azure-functions",
        "-o", tmp_path / "invocations.csv",
    )  # fmt: skip
    assert err.startswith(
        f"Format azure-functions also writes memory.csv beside {tmp_path / 'invocations.csv'}: "
        f"--out {tmp_path / 'memory.csv'} is a folder"
    )


def test_a_path_through_a_file_is_refused(
    cli: CliRun, gen_lake: Path, tmp_path: Path, no_work: None
) -> None:
    (tmp_path / "file").write_text("x\n")
    err = refused(cli, gen_lake, "-t", AZURE_TRACE, "-f", "vidur", "-o", tmp_path / "file/w.csv")
    assert err.startswith(f"--out {tmp_path / 'file/w.csv'}: a part of that path is a file")


def test_json_may_not_be_the_workload(
    cli: CliRun, gen_lake: Path, tmp_path: Path, no_work: None
) -> None:
    out = tmp_path / "w.csv"
    out.write_text("the workload of an earlier run\n")
    err = refused(cli, gen_lake, "-t", AZURE_TRACE, "-f", "vidur", "-o", out, "--json", out)
    assert err == (
        f"--json {out} is the workload's own file {out}: writing the JSON there would "
        "overwrite the workload. Pass --json another file name."
    )
    alias = tmp_path / "alias.json"
    alias.symlink_to(out)
    err = refused(cli, gen_lake, "-t", AZURE_TRACE, "-f", "vidur", "-o", out, "--json", alias)
    assert err.startswith(f"--json {alias} is the workload's own file {out}")
    # one of azure-functions' companions, not there yet
    inv = tmp_path / "invocations.csv"
    js = tmp_path / "durations.csv"
    err = refused(
        cli, gen_lake, "-t", FUNCTIONS_2019_TRACE, "-f", "azure-functions", "-o", inv,
        "--json", js,
    )  # fmt: skip
    assert err.startswith(f"--json {js} is the workload's own file {js}")
    assert out.read_text() == "the workload of an earlier run\n"


def test_json_through_a_link_keeps_the_link(cli: CliRun, gen_lake: Path, tmp_path: Path) -> None:
    import json

    target, link = tmp_path / "runs" / "fit.json", tmp_path / "latest.json"
    target.parent.mkdir()
    target.write_text("{}\n")
    link.symlink_to(target)
    out = tmp_path / "mc.jsonl"
    code, stdout, err = cli(
        "generate", "--lake", gen_lake, "-t", MOONCAKE_TRACE, "-o", out, "-f", "mooncake",
        "--json", link,
    )  # fmt: skip
    assert code == 0, stdout + err
    assert link.is_symlink()
    assert json.loads(target.read_text())["events"] == len(out.read_text().splitlines())


def test_compare_workloads_refuses_a_fifo_for_json(cli: CliRun, gen_lake: Path, fifo: Path) -> None:
    code, stdout, err = cli(
        "compare-workloads", AZURE_TRACE, AZURE_TRACE, "--lake", gen_lake, "--json", fifo
    )
    assert code == 2 and not stdout
    assert " ".join(err.split()).startswith(f"--json {fifo} is a device, pipe")


# ---------------------------------------------------------------- numbers out of range


def _raw_azure() -> tuple[int, float]:
    """Requests of the raw Azure conversation CSV and their span (first to last, s)."""
    with AZURE.open(newline="") as f:
        times = [datetime.fromisoformat(r["TIMESTAMP"][:26]).timestamp() for r in csv.DictReader(f)]
    return len(times), max(times) - min(times)


def test_a_negative_seed_is_a_usage_error(cli: CliRun, gen_lake: Path, tmp_path: Path) -> None:
    err = refused(
        cli, gen_lake, "-t", AZURE_TRACE, "-f", "vidur", "-o", tmp_path / "w.csv", "--seed", "-1"
    )
    assert err == "--seed must be a non-negative integer; got -1."
    assert not (tmp_path / "w.csv").exists()


def test_the_api_refuses_a_seed_that_is_not_a_non_negative_integer(
    gen_lake: Path, tmp_path: Path
) -> None:
    from generate.api import generate
    from ingest.errors import UsageError

    for seed in (-1, 1.5, True):
        with pytest.raises(UsageError, match="--seed must be a non-negative integer"):
            generate(gen_lake, AZURE_TRACE, tmp_path / "w.csv", "vidur", seed=seed)  # type: ignore[arg-type]


def test_a_run_over_the_event_cap_is_refused_naming_the_count(
    cli: CliRun, gen_lake: Path, tmp_path: Path
) -> None:
    err = refused(
        cli, gen_lake, "-t", AZURE_TRACE, "-f", "vidur", "-o", tmp_path / "w.csv",
        "--duration", "1e7", "--rate-scale", "1000",
    )  # fmt: skip
    n, span = _raw_azure()
    m = re.match(r"The workload would hold about ([\d,]+) requests \(19,366 requests in", err)
    assert m, err
    expected = n * 1000 * 1e7 / span  # about 5.5e10: a 400 GiB array of times alone
    assert float(m.group(1).replace(",", "")) == pytest.approx(expected, rel=1e-3)
    assert "more than the 100,000,000 generated at most (about 1.1 GB of memory per 10 " in err
    assert err.endswith("Pass a shorter --duration or a lower --rate-scale.")
    assert not (tmp_path / "w.csv").exists()


@pytest.mark.parametrize(
    ("trace", "fmt", "unit"),
    [(KTH_TRACE, "swf", "jobs"), (FUNCTIONS_2019_TRACE, "azure-functions", "invocations")],
)
def test_the_cap_holds_for_jobs_and_invocations(
    cli: CliRun, gen_lake: Path, tmp_path: Path, trace: str, fmt: str, unit: str
) -> None:
    err = refused(
        cli, gen_lake, "-t", trace, "-f", fmt, "-o", tmp_path / "w.csv",
        "--duration", "3e7", "--rate-scale", "1e6",
    )  # fmt: skip
    assert err.startswith("The workload would hold about ") and f" {unit} in the trace's" in err
    assert "more than the 100,000,000 generated at most" in err


def test_a_run_of_less_than_one_event_is_refused(
    cli: CliRun, gen_lake: Path, tmp_path: Path
) -> None:
    err = refused(
        cli, gen_lake, "-t", AZURE_TRACE, "-f", "vidur", "-o", tmp_path / "w.csv",
        "--rate-scale", "1e-9",
    )  # fmt: skip
    n, _ = _raw_azure()
    m = re.match(r"The workload would hold about (\S+) requests", err)
    assert m, err
    assert float(m.group(1)) == pytest.approx(n * 1e-9, rel=0.03)  # 2 digits shown
    assert err.endswith("fewer than one. Pass a longer --duration or a higher --rate-scale.")


def test_a_duration_over_a_year_is_refused(
    cli: CliRun, gen_lake: Path, tmp_path: Path, no_work: None
) -> None:
    err = refused(
        cli, gen_lake, "-t", AZURE_TRACE, "-f", "vidur", "-o", tmp_path / "w.csv",
        "--duration", "1e12", "--rate-scale", "1e-9",
    )  # fmt: skip
    assert err == (
        "--duration 1e+12 s is longer than the longest workload generated, 31,622,400 s "
        "(366 days). Pass a shorter --duration."
    )
    assert 366 * 86400 == 31_622_400


# ---------------------------------------------------------------- the dashboard page


@pytest.fixture
def page_lake(monkeypatch: pytest.MonkeyPatch, gen_lake: Path) -> Path:
    monkeypatch.setenv("TRACES_LAKE", str(gen_lake))
    return gen_lake


def test_the_page_bounds_duration_and_seed(page_lake: Path) -> None:
    from tests.dashboards.test_app import open_page

    at = open_page("generate")
    at.selectbox(key="generate-trace").select(AZURE_TRACE).run()
    assert at.number_input(key=f"generate-duration-{AZURE_TRACE}").max == 31_622_400
    assert at.number_input(key="generate-seed").max == 2**32 - 1
    assert at.number_input(key="generate-seed").min == 0


def test_the_page_shows_a_run_over_the_cap_and_running_out_of_memory_as_messages(
    page_lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboards import generate_data
    from tests.dashboards.test_app import open_page

    at = open_page("generate")
    at.selectbox(key="generate-trace").select(AZURE_TRACE).run()
    at.select_slider(key="generate-scale").set_value(4.0).run()
    at.number_input(key=f"generate-duration-{AZURE_TRACE}").set_value(31_622_400.0).run()
    at.button(key="generate-run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "The workload would hold about " in errors[0], errors
    assert not at.get("plotly_chart")

    def no_memory(*_: object) -> None:
        raise MemoryError

    monkeypatch.setattr(generate_data, "run", no_memory)
    at.number_input(key=f"generate-duration-{AZURE_TRACE}").set_value(600.0).run()
    at.button(key="generate-run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert errors == [
        "This workload does not fit in the memory left on this machine: pick a shorter "
        "duration or a lower rate scale."
    ]
