"""The standing fuzz suite of issue 11: damaged copies of the real samples of every source
family, and the invariant every ingest of them keeps.

- exit 0: written + rejected equals the file's records, counted here by a plain loop (for
  sources that reshape records, the manifest's per-file record count equals it); what the
  damage must cause (a reject, a finding, nothing at all) happened; every other trace in the
  lake is byte for byte as it was; no work files are left behind.
- exit 1 or 2: the lake is byte for byte as it was, and the message names the file and a line.
- never "Unexpected error"; `traces info` and `traces report` still work on the lake.

Copies are small (the header and the first 60-120 records) and live in tmp_path; the samples
themselves are only read from ../shared/traces. One base lake per module holds an unmutated
slice of every source (traces base_<id>) and a trace named `fuzzed` that every case replaces.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES, ROOT, CliResult
from tests.fuzz_support import (
    MUTATIONS,
    SPEC,
    SPECS,
    Case,
    Expect,
    Sandbox,
    count_records,
    damaged_lines,
    gzip_cut_case,
    load_sample,
    make_case,
    owned_by,
    snapshot,
    with_default_limit,
)

TRACE = "fuzzed"
WORK_DIRS = ("_staging", "_trash", "_journal")
LIMIT_S = 20.0  # wall time a bounded-work case may take (2 cores shared with other jobs)
KILLED = -9

Run = Callable[..., CliResult]


@dataclass(frozen=True)
class Base:
    lake: Path
    manifests: dict[str, dict]  # spec id -> manifest of its unmutated slice
    failures: dict[str, str]  # spec id -> why its unmutated slice did not ingest


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    """One lake for the module: every source's unmutated slice, and `fuzzed` to replace."""
    from ingest.pipeline import ingest_paths

    root = tmp_path_factory.mktemp("fuzz_base")
    lake = root / "lake"
    failures: dict[str, str] = {}
    for spec in SPECS:
        case = make_case(spec, "unchanged")
        assert case is not None
        path = root / "inputs" / spec.id / case.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.data())
        try:
            report = ingest_paths([path], lake, spec.source, f"base_{spec.id}", 1.0)
        except Exception as e:  # reported by every case of this source
            failures[spec.id] = f"{type(e).__name__}: {e}"
            continue
        if report.failures:
            failures[spec.id] = str(report.failures[0][1])
    report = ingest_paths([FIXTURES / "burstgpt_schema_fixture.csv"], lake, "burstgpt", TRACE)
    assert not report.failures, report.failures
    manifests = {
        spec.id: json.loads((lake / "_manifest" / f"base_{spec.id}.json").read_text())
        for spec in SPECS
        if spec.id not in failures
    }
    return Base(lake, manifests, failures)


@pytest.fixture(scope="module")
def bounded() -> Iterator[Run]:
    """`traces ARGS` in a worker process killed after LIMIT_S seconds."""
    box = Sandbox()

    def run(*args: str | Path) -> CliResult:
        result = box.run(*args, timeout=LIMIT_S)
        return result if result is not None else (KILLED, "", f"killed after {LIMIT_S:g} s")

    yield run
    box.close()


# ---------------------------------------------------------------- running one case


def _subprocess_cli(*args: str | Path) -> CliResult:
    """`traces ARGS` as its own process, the way a user runs it."""
    exe = Path(sys.executable).with_name("traces")
    cmd = (
        [str(exe)]
        if exe.exists()
        else [sys.executable, "-c", "import traces_cli; traces_cli.main()"]
    )
    done = subprocess.run(
        [*cmd, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
    )
    return done.returncode, done.stdout, done.stderr


def _lake_copy(base: Base, work: Path) -> Path:
    lake = work / "lake"
    shutil.copytree(base.lake, lake)
    return lake


def _work_files(lake: Path) -> list[str]:
    return [
        p.relative_to(lake).as_posix()
        for d in WORK_DIRS
        for p in (lake / d).rglob("*")
        if p.is_file() and not p.name.endswith(".lock")
    ]


def records_in(case: Case, src: Path) -> int | None:
    """The file's records by the plain count; None when it cannot be read to the end."""
    try:
        return count_records(case.spec, src.read_bytes())
    except (OSError, EOFError, zlib.error):
        return None


def _names_a_line(text: str) -> bool:
    import re

    return re.search(r"\bline \d+", text) is not None


def _zone_kept_correctly(lake: Path, table: str, naive: str, hours: int) -> bool:
    """True when the row's instant is the zoned time converted to UTC (not read as UTC)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    glob = (lake / table / f"trace={TRACE}" / "*.parquet").as_posix()
    sign = "+" if hours >= 0 else "-"
    found = con.execute(
        f"SELECT count(*) FILTER (WHERE ts = CAST(? AS TIMESTAMPTZ)), "
        f"count(*) FILTER (WHERE ts = CAST(? AS TIMESTAMPTZ)) FROM read_parquet('{glob}')",
        [f"{naive}{sign}{abs(hours):02d}:00", f"{naive}+00:00"],
    ).fetchone()
    assert found is not None
    return found[0] >= 1 and found[1] == 0


def check_outcome(
    case: Case,
    run: Run,
    base: Base,
    src: Path,
    lake: Path,
    before: dict[str, str],
    result: CliResult,
    expected_records: int | None = None,
) -> list[str]:
    """Every way the outcome breaks the invariant, as sentences (empty: it holds)."""
    code, out, err = result
    if code == KILLED:
        return [
            f"still running after {LIMIT_S:g} s: killed (bounded work: limits on line "
            "length and field count)"
        ]
    text = out + err
    problems: list[str] = []
    first = next((line for line in err.splitlines() if line.strip()), out.strip()[:300])
    if "Unexpected error" in text:
        problems.append(f"prints Unexpected error: {first[:300]}")
    if code not in case.expect.exits:
        problems.append(f"exit {code}, expected {sorted(case.expect.exits)}: {first[:300]}")
    leftovers = _work_files(lake)
    if leftovers:
        problems.append(f"work files left in the lake: {leftovers[:4]}")
    if code in (1, 2):
        after = snapshot(lake)
        if after != before:
            changed = sorted(
                k for k in before.keys() | after.keys() if before.get(k) != after.get(k)
            )
            problems.append(f"exit {code} but the lake changed: {changed[:5]}")
        if src.name not in text:
            problems.append(f"exit {code}, message does not name {src.name}: {first[:300]}")
        if records_in(case, src) != 0 and not _names_a_line(text):
            problems.append(f"exit {code}, message names no line: {first[:300]}")
        return problems
    if code != 0:
        return problems
    problems += _check_written(case, base, src, lake, before, expected_records)
    problems += _check_info(run, lake)
    return problems


def _check_written(
    case: Case,
    base: Base,
    src: Path,
    lake: Path,
    before: dict[str, str],
    expected_records: int | None,
) -> list[str]:
    spec = case.spec
    problems: list[str] = []
    manifest_path = lake / "_manifest" / f"{TRACE}.json"
    if not manifest_path.is_file():
        return [f"exit 0 but no manifest {manifest_path.name}"]
    m = json.loads(manifest_path.read_text())
    records = (
        count_records(spec, src.read_bytes()) if expected_records is None else expected_records
    )
    tables: dict[str, int] = m["tables"]
    rejected: int = m["rows_rejected"]
    per_file = [f.get("records") for f in m["files"]]
    if any(r is None for r in per_file):
        problems.append("manifest has no per-file 'records' count")
    elif sum(per_file) != records:
        problems.append(f"manifest records {sum(per_file)}, the file has {records}")
    if spec.record_tables is not None:
        written = sum(
            n for t, n in tables.items() if not spec.record_tables or t in spec.record_tables
        )
        if written + rejected != records:
            problems.append(
                f"written {written} + rejected {rejected} = {written + rejected}, "
                f"the file has {records} records"
            )
    elif rejected > records:
        problems.append(f"rejected {rejected} > the file's {records} records")
    if [f["path"] for f in m["files"]] != [str(src.resolve())]:
        problems.append(f"manifest files {[f['path'] for f in m['files']]}, ingested only {src}")
    live = {
        d.parent.name
        for d in lake.glob(f"*/trace={TRACE}")
        if d.parent.name != "_rejected" and any(d.iterdir())
    }
    if live != {t for t, n in tables.items() if n}:
        problems.append(f"tables on disk {sorted(live)}, manifest says {sorted(tables)}")
    after = snapshot(lake)
    others_before = {k: v for k, v in before.items() if not owned_by(k, TRACE)}
    others_after = {k: v for k, v in after.items() if not owned_by(k, TRACE)}
    if others_after != others_before:
        changed = sorted(
            k
            for k in others_before.keys() | others_after.keys()
            if others_before.get(k) != others_after.get(k)
        )
        problems.append(f"other traces changed: {changed[:5]}")
    problems += _check_expectations(case.expect, base.manifests.get(spec.id), m, lake)
    return problems


def _check_expectations(expect: Expect, b: dict | None, m: dict, lake: Path) -> list[str]:
    if b is None:
        return ["the unmutated slice of this source did not ingest (see test_unmutated)"]
    problems = []
    more_rejected = m["rows_rejected"] > b["rows_rejected"]
    summary = (
        f"written {m['rows_written']} (unmutated {b['rows_written']}), rejected "
        f"{m['rows_rejected']} (unmutated {b['rows_rejected']})"
    )
    if expect.must_reject and not more_rejected:
        problems.append(f"the damaged record was not rejected: {summary}")
    if expect.reject_or_finding:
        slugs = {(f["table"], f["slug"]) for f in m.get("quality", [])}
        base_slugs = {(f["table"], f["slug"]) for f in b.get("quality", [])}
        if not more_rejected and not slugs - base_slugs:
            problems.append(f"an all-empty row gave no reject and no finding: {summary}")
    if expect.clean:
        keys = ("tables", "rows_written", "rows_rejected", "ts_min", "ts_max")
        diff = {k: (m.get(k), b.get(k)) for k in keys if m.get(k) != b.get(k)}
        if diff:
            problems.append(f"differs from the unmutated slice (got, unmutated): {diff}")
    if expect.zone is not None and not more_rejected:
        _, naive, hours = expect.zone
        table = next(iter(m["tables"]))
        if not _zone_kept_correctly(lake, table, naive, hours):
            problems.append(
                f"zoned time {naive}+0{hours}:00 neither rejected nor stored as its UTC instant"
            )
    return problems


def _check_info(run: Run, lake: Path) -> list[str]:
    """`traces info` on the lake after the case. (`traces report` costs seconds per trace, so
    it runs once over every kind of damage: test_report_after_every_kind_of_damage.)"""
    code, out, err = run("info", "--lake", lake)
    if code != 0 or "Unexpected error" in out + err:
        return [f"`traces info` then exits {code}: {(err or out).strip()[:300]}"]
    return []


def _check_report(run: Run, lake: Path, out_file: Path, *traces: str) -> list[str]:
    args: list[str | Path] = ["report", "--lake", lake, "--format", "json", "--out", out_file]
    for t in traces:
        args += ["--trace", t]
    code, out, err = run(*args)
    if code != 0 or "Unexpected error" in out + err:
        return [f"`traces report` exits {code}: {(err or out).strip()[:300]}"]
    json.loads(out_file.read_text())
    return []


def run_case(
    case: Case,
    run: Run,
    base: Base,
    work: Path,
    trace: str = TRACE,
    file_name: str | None = None,
) -> tuple[list[str], CliResult]:
    if case.spec.id in base.failures:
        return [f"the unmutated slice failed: {base.failures[case.spec.id][:300]}"], (1, "", "")
    lake = _lake_copy(base, work)
    src = work / "in" / (file_name or case.name)
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(case.data())
    before = snapshot(lake)
    # --replace: every case replaces `fuzzed`, which the base lake holds from other files.
    args: list[str | Path] = ["ingest", src, "--lake", lake, "--trace", trace, "--replace"]
    args += ["--source", case.spec.source]
    if case.max_rejected is not None:
        args += ["--max-rejected", case.max_rejected]
    result = run(*args)
    return check_outcome(case, run, base, src, lake, before, result), result


def _assert_holds(case_id: str, problems: list[str]) -> None:
    assert not problems, f"{case_id}:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------- the named cases

SLOW_MUTATIONS = ("line over 2 MB", "line with 100000 fields")
DEFAULT_LIMIT = ("unterminated quote", "line of NULs")


def _named() -> list[tuple[str, str]]:
    out = []
    for spec in SPECS:
        for mutation in MUTATIONS:
            if mutation == "unchanged" or make_case(spec, mutation) is None:
                continue
            out.append((spec.id, mutation))
    return out


NAMED = _named()


def _param(spec_id: str, mutation: str) -> object:
    return pytest.param(spec_id, mutation, id=f"{spec_id}:{mutation}")


@pytest.mark.parametrize("spec_id", [s.id for s in SPECS])
def test_unmutated(spec_id: str, cli: Run, base: Base, tmp_path: Path) -> None:
    """The untouched slice: the baseline every expectation compares with."""
    case = make_case(SPEC[spec_id], "unchanged")
    assert case is not None
    problems, _ = run_case(case, cli, base, tmp_path)
    _assert_holds(case.id, problems)


@pytest.mark.parametrize(
    ("spec_id", "mutation"), [_param(*p) for p in NAMED if p[1] not in SLOW_MUTATIONS]
)
def test_mutation(spec_id: str, mutation: str, cli: Run, base: Base, tmp_path: Path) -> None:
    case = make_case(SPEC[spec_id], mutation)
    assert case is not None
    problems, _ = run_case(case, cli, base, tmp_path)
    _assert_holds(case.id, problems)


@pytest.mark.parametrize(
    ("spec_id", "mutation"),
    [_param(s.id, m) for s in SPECS for m in DEFAULT_LIMIT if (s.id, m) in NAMED],
)
def test_mutation_with_default_limit(
    spec_id: str, mutation: str, cli: Run, bounded: Run, base: Base, tmp_path: Path
) -> None:
    """A malformed line counts toward --max-rejected by the records it spans."""
    case = make_case(SPEC[spec_id], mutation)
    assert case is not None
    run = bounded if mutation in SLOW_MUTATIONS else cli
    problems, _ = run_case(with_default_limit(case), run, base, tmp_path)
    _assert_holds(case.id, problems)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("spec_id", "mutation"), [_param(*p) for p in NAMED if p[1] in SLOW_MUTATIONS]
)
def test_bounded_work(
    spec_id: str, mutation: str, bounded: Run, base: Base, tmp_path: Path
) -> None:
    """Lines over 2 MB and lines of 100,000 fields are rejected within LIMIT_S seconds."""
    case = make_case(SPEC[spec_id], mutation)
    assert case is not None
    problems, _ = run_case(case, bounded, base, tmp_path)
    _assert_holds(case.id, problems)


@pytest.mark.parametrize("spec_id", [s.id for s in SPECS])
def test_truncated_mid_gzip(spec_id: str, cli: Run, base: Base, tmp_path: Path) -> None:
    case = gzip_cut_case(SPEC[spec_id])
    problems, _ = run_case(case, cli, base, tmp_path)
    _assert_holds(case.id, problems)


# ---------------------------------------------------------------- names

HOSTILE_NAMES = {
    "x/../../victim": "x/../../victim",
    "x/../../../victim": "x/../../../victim",
    "/abs/name": "{work}/abs/name",
    "../_manifest/other": "../_manifest/other",
    "a=b": "a=b",
    "quote'": "it's",
    "percent": "100%",
    "slash": "a/b",
    "newline": "two\nlines",
    "bracket": "a[1]",
    "star": "a*",
    "empty": "",
    "dot-dot": "..",
    "1000 chars": "n" * 1000,
}
FAMILY_SPECS = ("azure_llm_2023", "azure_functions_2021", "swf", "azure_vm_noise_2024")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("spec_id", FAMILY_SPECS)
def test_hostile_trace_name_is_refused(
    spec_id: str, name: str, cli: Run, base: Base, tmp_path: Path
) -> None:
    """Refused with exit 2 and the rule, before anything touches the disk (in or out of the
    lake: the whole work folder is compared)."""
    case = make_case(SPEC[spec_id], "unchanged")
    assert case is not None
    trace = HOSTILE_NAMES[name].format(work=tmp_path)
    lake = _lake_copy(base, tmp_path)
    src = tmp_path / "in" / case.name
    src.parent.mkdir(parents=True)
    src.write_bytes(case.data())
    before = snapshot(tmp_path)
    code, out, err = cli(
        "ingest", src, "--lake", lake, "--trace", trace, "--source", case.spec.source
    )
    text = out + err
    problems = []
    if code != 2:
        problems.append(f"exit {code}, expected 2: {text.strip()[:300]}")
    if "Unexpected error" in text:
        problems.append(f"prints Unexpected error: {text.strip()[:300]}")
    if not ("trace name" in text and ("letters" in text or "characters" in text)):
        problems.append(f"message does not state the naming rule: {text.strip()[:300]}")
    after = snapshot(tmp_path)
    if after != before:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        problems.append(f"files changed: {changed[:5]}")
    _assert_holds(f"{spec_id}: --trace {trace!r}", problems)


GLOB_NAMES = {  # (name of the file ingested, name of a sibling its pattern would match)
    "[": ("{stem}[1]{ext}", "{stem}1{ext}"),
    "*": ("{stem}*{ext}", "{stem}_other{ext}"),
    "?": ("{stem}?{ext}", "{stem}Z{ext}"),
}


def _split_name(name: str) -> tuple[str, str, str]:
    folder, _, file = name.rpartition("/")
    for ext in (".csv.gz", ".swf.gz", ".csv", ".jsonl"):
        if file.endswith(ext):
            return folder, file[: -len(ext)], ext
    return folder, file, ""


# `[` for every source; `*` and `?` for one CSV with a header, one gzip without, the hive layout
GLOB_CASES = [(s.id, "[") for s in SPECS] + [
    (spec_id, char)
    for spec_id in ("azure_llm_2023", "google_2011_jobs", "azure_vm_noise_2024")
    for char in ("*", "?")
]


@pytest.mark.parametrize(("spec_id", "char"), GLOB_CASES)
def test_file_name_is_not_a_pattern(
    spec_id: str, char: str, cli: Run, base: Base, tmp_path: Path
) -> None:
    """A file named with `[`, `*` or `?` is read exactly, never as a pattern: a sibling the
    pattern matches (with other records) must not be read."""
    spec = SPEC[spec_id]
    case = make_case(spec, "unchanged")
    sibling = make_case(spec, "unchanged", load_sample(spec, n_records=17, skip=40))
    assert case is not None and sibling is not None
    folder, stem, ext = _split_name(spec.name)
    name, other = (p.format(stem=stem, ext=ext) for p in GLOB_NAMES[char])
    prefix = f"{folder}/" if folder else ""
    sib = tmp_path / "in" / f"{prefix}{other}"
    sib.parent.mkdir(parents=True, exist_ok=True)
    sib.write_bytes(sibling.data())
    problems, _ = run_case(case, cli, base, tmp_path, file_name=f"{prefix}{name}")
    _assert_holds(f"{spec_id}: file {name}", problems)


def test_lake_path_with_bracket(cli: Run, base: Base, tmp_path: Path) -> None:
    """A lake folder whose name is a glob pattern works for ingest, info and report."""
    case = make_case(SPEC["azure_llm_2023"], "unchanged")
    assert case is not None
    lake = tmp_path / "lake[1]"
    shutil.copytree(base.lake, lake)
    (tmp_path / "lake1").mkdir()  # what the pattern would match
    src = tmp_path / case.name
    src.write_bytes(case.data())
    code, out, err = cli("ingest", src, "--lake", lake, "--trace", TRACE, "--replace")
    assert code == 0 and "Unexpected error" not in out + err, err
    problems = _check_info(cli, lake) + _check_report(cli, lake, tmp_path / "r.json", TRACE)
    _assert_holds("lake[1]", problems)


# ---------------------------------------------------------------- as a user runs it

SUBPROCESS_CASES = (("azure_llm_2023", "unterminated quote"), ("swf", "UTF-8 BOM"))


@pytest.mark.slow
@pytest.mark.parametrize(("spec_id", "mutation"), SUBPROCESS_CASES)
def test_mutation_in_a_subprocess(spec_id: str, mutation: str, base: Base, tmp_path: Path) -> None:
    case = make_case(SPEC[spec_id], mutation)
    assert case is not None
    problems, _ = run_case(case, _subprocess_cli, base, tmp_path)
    _assert_holds(case.id + " (subprocess)", problems)


@pytest.mark.slow
def test_hostile_name_in_a_subprocess(base: Base, tmp_path: Path) -> None:
    case = make_case(SPEC["azure_llm_2023"], "unchanged")
    assert case is not None
    lake = _lake_copy(base, tmp_path)
    src = tmp_path / case.name
    src.write_bytes(case.data())
    before = snapshot(tmp_path)
    code, _, err = _subprocess_cli("ingest", src, "--lake", lake, "--trace", "x/../../victim")
    assert code == 2 and "Unexpected error" not in err, err
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------- random damage

TOKENS = (
    b'"',
    b"\x00",
    b",",
    b"\r\n",
    b"\n",
    b"nan",
    b"inf",
    b"+05:00",
    b"10.5",
    b"\xef\xbb\xbf",
    str(2**64).encode(),
    b"9" * 300,
    b";",
    b"{",
    b"\xff\xfe",
    b"-",
    b" ",
)


@st.composite
def damage(draw: st.DrawFn, content: bytes) -> tuple[str, bytes]:
    """A truncation, some byte flips, or some dangerous tokens spliced in."""
    how = draw(st.sampled_from(("truncate", "flip", "splice")))
    n = len(content)
    if how == "truncate":
        at = draw(st.integers(1, n - 1))
        return f"truncate at {at}", content[:at]
    data = bytearray(content)
    edits = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4, unique=True))
    if how == "flip":
        values = [draw(st.integers(0, 255).filter(lambda b: b != 0x0D)) for _ in edits]
        for at, v in zip(edits, values, strict=True):
            data[at] = v
        return f"flip {dict(zip(edits, values, strict=True))}", bytes(data)
    tokens = [draw(st.sampled_from(TOKENS)) for _ in edits]
    for at, tok in sorted(zip(edits, tokens, strict=True), reverse=True):
        data[at:at] = tok
    return f"splice {sorted(zip(edits, tokens, strict=True))}", bytes(data)


@pytest.mark.slow
@pytest.mark.parametrize("spec_id", [s.id for s in SPECS])
def test_random_damage(spec_id: str, cli: Run, base: Base, tmp_path: Path) -> None:
    spec = SPEC[spec_id]
    clean = make_case(spec, "unchanged")
    assert clean is not None
    sample = load_sample(spec, n_records=40)
    content = b"".join(line + sample.eol for line in sample.lines)
    failures: list[str] = []
    counter = iter(range(10**6))

    @settings(
        max_examples=5,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(damage(content))
    def check(damaged: tuple[str, bytes]) -> None:
        what, data = damaged
        work = tmp_path / str(next(counter))
        case = Case(f"{spec_id}: {what[:200]}", spec, data, Expect())
        problems, _ = run_case(case, cli, base, work)
        if problems:
            failures.append(case.id + ":\n    " + "\n    ".join(problems))

    check()
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------- reports over damaged lakes

VALUE_DAMAGE = tuple(
    m
    for m in MUTATIONS
    if m.startswith(("nan", "-inf", "2^64", "300-digit", "10.5", "time", "empty", "all-"))
    or m == "quote inside a field"
)


@pytest.mark.slow
def test_report_after_every_kind_of_damage(cli: Run, tmp_path: Path) -> None:
    """`traces info` and `traces report` work on a lake holding, for every source, a trace
    with every kind of damaged value that ingest may keep (NaN, huge numbers, zones, far
    future, empty fields and rows) and a one-record trace. When the report fails, each trace
    is reported alone to name the ones that break it."""
    lake = tmp_path / "lake"
    problems: list[str] = []
    traces: list[str] = []
    for spec in SPECS:
        sample = load_sample(spec)
        lines = sample.lines + [x for m in VALUE_DAMAGE for x in damaged_lines(spec, m)]
        one = [*sample.header, sample.records[0]]
        for trace, content in ((f"damaged_{spec.id}", lines), (f"one_{spec.id}", one)):
            raw = sample.encode(content)
            src = tmp_path / "in" / trace / spec.name
            src.parent.mkdir(parents=True, exist_ok=True)
            src.write_bytes(gzip.compress(raw, mtime=0) if spec.gz else raw)
            code, out, err = cli(
                "ingest",
                src,
                "--lake",
                lake,
                "--trace",
                trace,
                "--source",
                spec.source,
                "--max-rejected",
                "1",
            )
            if code == 0:
                traces.append(trace)
            elif "Unexpected error" in out + err:
                problems.append(f"{trace}: ingest prints Unexpected error: {err.strip()[:300]}")
    assert traces, problems
    problems += _check_info(cli, lake)
    whole = _check_report(cli, lake, tmp_path / "all.json")
    if whole:
        problems += [f"whole lake: {p}" for p in whole]
        for trace in traces:
            for p in _check_report(cli, lake, tmp_path / f"{trace}.json", trace):
                problems.append(f"report of {trace}: {p}")
    _assert_holds("reports over damaged traces", problems)
