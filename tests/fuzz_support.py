"""Mutations of the real trace samples, and the plain-loop record counts they are checked by.

The fuzz suite (tests/test_fuzz_ingest.py) takes the header and the first records of one real
sample per source, damages them in one named way (or in random ways, driven by hypothesis),
ingests the copy and checks issue 11's invariant. Everything here is independent of the
project's parsers: record counts are plain loops over the bytes, as each source's docstring
defines a record (a CSV line after the header, a JSON line, an SWF line that is not a `;`
comment), counted on physical, non-blank lines.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import multiprocessing
import multiprocessing.pool
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from tests.conftest import FIXTURES, SHARED

BOM = b"\xef\xbb\xbf"
FAR_FUTURE_S = 253_402_300_800 + 86_400  # 10000-01-02 00:00:00 UTC, past datetime's year 9999
VM_NOISE = (
    "vm_interference/azure_vm_noise_2024/vm-noise-data/test_suite=Intel_Memory_Latency_Checker/"
    "test_name=Test:_Idle_Latency/vm_lifespan=long/vm_region=eastus/vm_sku=B8ms/unit=ns.csv"
)


@dataclass(frozen=True)
class Spec:
    """One source's sample and where its fields are, for the mutations to aim at."""

    id: str
    family: str
    source: str  # passed as --source, so the parser (not the sniffer) meets the damage
    sample: Path
    name: str  # relative path of the copy (folders matter to azure_vm_noise_2024)
    kind: str  # "csv", "jsonl" or "swf"
    header_lines: int = 1
    gz: bool = False
    n_records: int = 120
    # A header that is optional: line 1 is a header only when it starts with this.
    header_prefix: bytes | None = None
    # Field positions (CSV/SWF index or JSON key); None where the source has no such field.
    integer: int | str | None = None  # a whole-number field (count or id)
    number: int | str | None = None  # a numeric field (may be fractional)
    time: int | str | None = None  # the record's time
    time_unit: str = ""  # "text" (ISO, no zone), "s", "ms" or "us" (Google: +600 s offset)
    # Tables with one row per record; None for sources that reshape records (wide minute
    # columns, event streams, summaries): their records are compared with the manifest's count.
    record_tables: tuple[str, ...] | None = ()

    @property
    def reshaping(self) -> bool:
        return self.record_tables is None


SPECS: tuple[Spec, ...] = (
    Spec(
        "azure_llm_2023",
        "llm_serving",
        "azure_llm_2023",
        SHARED / "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
        "AzureLLMInferenceTrace_conv.csv",
        "csv",
        integer=1,
        number=2,
        time=0,
        time_unit="text",
    ),
    Spec(
        "mooncake",
        "llm_serving",
        "mooncake",
        SHARED / "llm_serving/mooncake_fast25/conversation_trace.jsonl",
        "conversation_trace.jsonl",
        "jsonl",
        header_lines=0,
        integer="input_length",
        number="output_length",
        time="timestamp",
        time_unit="ms",
    ),
    Spec(
        "burstgpt",
        "llm_serving",
        "burstgpt",
        FIXTURES / "burstgpt_schema_fixture.csv",
        "BurstGPT_fixture.csv",
        "csv",
        integer=4,
        number=2,
        time=0,
        time_unit="s",
    ),
    Spec(
        "azure_functions_2019_invocations",
        "serverless",
        "azure_functions_2019",
        SHARED / "serverless/azure_functions_2019_invitro_sample100/invocations.csv",
        "invocations.csv",
        "csv",
        n_records=60,
        integer=4,
        record_tables=None,
    ),
    Spec(
        "azure_functions_2019_durations",
        "serverless",
        "azure_functions_2019",
        SHARED / "serverless/azure_functions_2019_invitro_sample100/durations.csv",
        "durations.csv",
        "csv",
        n_records=60,
        integer=4,
        number=3,
        record_tables=None,
    ),
    Spec(
        "azure_functions_2021",
        "serverless",
        "azure_functions_2021",
        SHARED
        / "serverless/azure_functions_2021/AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv",
        "AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv",
        "csv",
        number=3,
        time=2,
        time_unit="s",
    ),
    Spec(
        "swf",
        "datacenter",
        "swf",
        SHARED / "datacenter/pwa_swf_kth_sp2/KTH-SP2-1996-2.1-cln.swf.gz",
        "KTH-SP2-1996-2.1-cln.swf.gz",
        "swf",
        header_lines=0,
        gz=True,
        integer=0,
        number=3,
        time=1,
        time_unit="s",
        record_tables=("jobs",),  # summaries holds the MaxProcs/MaxNodes header comments
    ),
    Spec(
        "google_2011_jobs",
        "datacenter",
        "google_2011_jobs",
        SHARED / "datacenter/google_borg_2011/job_events/part-00000-of-00500.csv.gz",
        "job_events/part-00000-of-00500.csv.gz",
        "csv",
        header_lines=0,
        gz=True,
        integer=2,
        time=0,
        time_unit="us",
        record_tables=None,
    ),
    Spec(
        "google_2011_tasks",
        "datacenter",
        "google_2011_tasks",
        SHARED / "datacenter/google_borg_2011/task_events/part-00001-of-00500.csv.gz",
        "task_events/part-00001-of-00500.csv.gz",
        "csv",
        header_lines=0,
        gz=True,
        integer=3,
        number=9,
        time=0,
        time_unit="us",
        record_tables=None,
    ),
    Spec(
        "alibaba_2017_batch",
        "datacenter",
        "alibaba_2017_batch",
        SHARED / "datacenter/alibaba_v2017_batch_task/batch_task.csv",
        "batch_task.csv",
        "csv",
        header_prefix=b"task_create_time",
        integer=4,
        number=6,
        time=0,
        time_unit="s",
    ),
    Spec(
        "azure_vm_noise_2024",
        "vm_interference",
        "azure_vm_noise_2024",
        SHARED / VM_NOISE,
        VM_NOISE.split("vm-noise-data/", 1)[1],
        "csv",
        number=0,
        time=2,
        time_unit="text",
    ),
)
SPEC = {s.id: s for s in SPECS}


# ---------------------------------------------------------------- the sample as lines


@dataclass(frozen=True)
class Sample:
    """A slice of a real sample: header lines and records, without line terminators."""

    spec: Spec
    header: tuple[bytes, ...]
    records: tuple[bytes, ...]
    eol: bytes  # the sample's own line ending (Azure LLM 2023 and Alibaba 2017 use CRLF)

    @property
    def lines(self) -> list[bytes]:
        return [*self.header, *self.records]

    def encode(self, lines: list[bytes] | None = None, eol: bytes | None = None) -> bytes:
        """The file's bytes (plain: compression is applied by `Case.data`)."""
        end = self.eol if eol is None else eol
        return b"".join(line + end for line in (self.lines if lines is None else lines))


def _plain(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


@functools.lru_cache(maxsize=64)
def load_sample(spec: Spec, n_records: int | None = None, skip: int = 0) -> Sample:
    """Header plus `n_records` records (after `skip`), read from the real sample."""
    n = spec.n_records if n_records is None else n_records
    text = _plain(spec.sample)
    eol = b"\r\n" if text.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
    raw = [line.removesuffix(b"\r") for line in text.split(b"\n")]
    if spec.kind == "swf":
        header = []
        for line in raw:  # the leading ';' comment block is the header
            if not line.startswith(b";"):
                break
            header.append(line)
    else:
        header = raw[: spec.header_lines]
    body = [line for line in raw[len(header) :] if line.strip()]
    return Sample(spec, tuple(header), tuple(body[skip : skip + n]), eol)


# ---------------------------------------------------------------- independent counting


def count_records(spec: Spec, data: bytes) -> int:
    """Records in a file as the sources define them, by a plain loop over physical lines:
    non-empty lines minus the header for CSV (a line of spaces is a record the CSV reader
    rejects), lines that are not white space for JSON lines, and for SWF lines that are not
    white space and not `;` comments. A leading byte-order mark is not content."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    data = data.removeprefix(BOM)
    count = 0
    for line in data.split(b"\n"):
        # A line of spaces is a (bad) CSV record; JSON lines and SWF skip it.
        blank = line in (b"", b"\r") if spec.kind == "csv" else not line.strip(b" \t\r")
        if blank or (spec.kind == "swf" and line.lstrip().startswith(b";")):
            continue
        count += 1
    if spec.kind == "csv":
        optional = spec.header_prefix is not None and not data.startswith(spec.header_prefix)
        count -= 0 if optional else spec.header_lines
    return count


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, by relative path; lock files (empty markers that
    a lake keeps for flock) are not content and are left out."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


def owned_by(rel: str, trace: str) -> bool:
    """True for the lake files that belong to `trace`: its table and rejected partitions, its
    manifest and its commit journal."""
    parts = rel.split("/")
    if parts[0] in ("_manifest", "_journal") and parts[-1] == f"{trace}.json":
        return True
    return len(parts) >= 2 and parts[1] == f"trace={trace}"


# ---------------------------------------------------------------- mutations


ONLY_0 = frozenset({0})
# NUL bytes and mixed line endings: the project's policy (README, "Bad input") refuses the
# whole file with the line and the command that fixes it, rather than rejecting the line:
# DuckDB's reader fails the whole file on mixed endings and keeps NULs inside text fields.
# Either way the invariant holds: exit 0 with every record accounted, or exit 1 with the lake
# unchanged and the line named.
UNREADABLE_LINE = frozenset({0, 1})


@dataclass(frozen=True)
class Expect:
    """What a case must show beyond the invariant every case keeps."""

    exits: frozenset[int] = frozenset({0, 1})
    # exit 0 only with at least one more rejected row than the unmutated slice has
    must_reject: bool = False
    # exit 0 only with more rejected rows or a quality finding the unmutated slice lacks
    reject_or_finding: bool = False
    # exit 0 with the same rows, rejects and time span as the unmutated slice
    clean: bool = False
    # (line index, zone-less text, offset hours): rejected, or stored as the correct instant
    zone: tuple[int, str, int] | None = None


@dataclass(frozen=True)
class Case:
    id: str
    spec: Spec
    content: bytes  # the copy's bytes before compression
    expect: Expect = field(default_factory=Expect)
    gzip_cut: bool = False  # compress, then cut the gzip stream in half
    max_rejected: str | None = "1"  # None: the default limit

    def data(self) -> bytes:
        if self.gzip_cut:
            packed = gzip.compress(self.content, mtime=0)
            return packed[: len(packed) // 2]
        return gzip.compress(self.content, mtime=0) if self.spec.gz else self.content

    @property
    def name(self) -> str:
        return self.spec.name + (".gz" if self.gzip_cut and not self.spec.gz else "")


def split_fields(spec: Spec, line: bytes) -> list[bytes]:
    return line.split() if spec.kind == "swf" else line.split(b",")


def join_fields(spec: Spec, fields: list[bytes]) -> bytes:
    return b" ".join(fields) if spec.kind == "swf" else b",".join(fields)


def set_field(spec: Spec, line: bytes, where: int | str, raw: bytes) -> bytes:
    """The line with one field replaced by `raw`, spliced in as is (JSON: a raw token)."""
    if spec.kind == "jsonl":
        record = json.loads(line)
        record[where] = "\x00PLACEHOLDER\x00"
        return json.dumps(record).encode().replace(b'"\\u0000PLACEHOLDER\\u0000"', raw)
    fields = split_fields(spec, line)
    assert isinstance(where, int)
    fields[where] = raw
    return join_fields(spec, fields)


def get_field(spec: Spec, line: bytes, where: int | str) -> bytes:
    if spec.kind == "jsonl":
        return json.dumps(json.loads(line)[where]).encode()
    assert isinstance(where, int)
    return split_fields(spec, line)[where]


def _far_future(spec: Spec) -> bytes:
    if spec.time_unit == "text":
        return b"12023-11-16 18:15:46.680"
    seconds = FAR_FUTURE_S
    value = {"s": seconds, "ms": seconds * 1000, "us": seconds * 10**6 + 600 * 10**6}[
        spec.time_unit
    ]
    return str(value).encode()


Mutation = Callable[[Sample], tuple[list[bytes], bytes | None, Expect] | None]
"""(lines, line ending or None for the sample's, expectations), or None when not applicable."""


def _victim(s: Sample) -> int:
    """Index (in s.lines) of the record the mutations damage: one in the middle."""
    return len(s.header) + len(s.records) // 2


def _on_field(role: str, raw: bytes, **expect: object) -> Mutation:
    def mutate(s: Sample) -> tuple[list[bytes], bytes | None, Expect] | None:
        where = getattr(s.spec, role)
        if where is None:
            return None
        lines = s.lines
        i = _victim(s)
        lines[i] = set_field(s.spec, lines[i], where, raw)
        return lines, None, Expect(**expect)  # type: ignore[arg-type]

    return mutate


def _time_mutation(kind: str) -> Mutation:
    def mutate(s: Sample) -> tuple[list[bytes], bytes | None, Expect] | None:
        spec = s.spec
        if spec.time is None:
            return None
        lines = s.lines
        i = _victim(s)
        original = get_field(spec, lines[i], spec.time)
        if kind == "zone":
            zoned = original + b"+05:00"
            raw = b'"' + zoned + b'"' if spec.kind == "jsonl" else zoned
            lines[i] = set_field(spec, lines[i], spec.time, raw)
            if spec.time_unit == "text":
                return lines, None, Expect(zone=(i, original.decode(), 5))
            return lines, None, Expect(must_reject=True)
        lines[i] = set_field(spec, lines[i], spec.time, _far_future(spec))
        return lines, None, Expect(must_reject=True)

    return mutate


def _truncate_mid_line(s: Sample) -> tuple[list[bytes], bytes | None, Expect]:
    lines = s.lines
    last = lines[-1]
    lines[-1] = last[: max(1, len(last) // 2)]
    # No line ending after the cut line: returned as a marker the caller honours.
    return lines, b"", Expect()


def _unterminated_quote(s: Sample) -> tuple[list[bytes], bytes | None, Expect]:
    lines = s.lines
    i = len(s.header) + 3  # early, so that most of the file follows it
    lines[i] = b'"' + lines[i]
    return lines, None, Expect(exits=ONLY_0, must_reject=True)


def _quote_mid_field(s: Sample) -> tuple[list[bytes], bytes | None, Expect]:
    lines = s.lines
    i = len(s.header) + 3
    fields = split_fields(s.spec, lines[i]) if s.spec.kind != "jsonl" else None
    if fields is None:
        lines[i] = lines[i][:5] + b'"' + lines[i][5:]
    else:
        fields[-1] = b'ab"c' + fields[-1]
        lines[i] = join_fields(s.spec, fields)
    return lines, None, Expect(must_reject=s.spec.kind != "csv")


def _long_line(s: Sample) -> tuple[list[bytes], bytes | None, Expect]:
    lines = s.lines
    i = _victim(s)
    pad = b"x" * (2 * 1024 * 1024 + 1000)
    if s.spec.kind == "jsonl":
        lines[i] = lines[i].rstrip().removesuffix(b"}") + b', "pad": "' + pad + b'"}'
    else:
        lines[i] = lines[i] + pad
    return lines, None, Expect(exits=ONLY_0, must_reject=True)


def _many_fields(s: Sample) -> tuple[list[bytes], bytes | None, Expect]:
    lines = s.lines
    i = _victim(s)
    if s.spec.kind == "jsonl":
        lines[i] = b"[" + b",".join([b"0"] * 100_000) + b"]"
    elif s.spec.kind == "swf":
        lines[i] = b" ".join([b"1"] * 100_000)
    else:
        lines[i] = b",".join([b"1"] * 100_000)
    # A delimited line of over 20,000 fields refuses the file with its line (README limits);
    # a JSON line or SWF job line of that many is rejected as a row.
    exits = ONLY_0 if s.spec.kind in ("jsonl", "swf") else UNREADABLE_LINE
    return lines, None, Expect(exits=exits, must_reject=True)


def _bom(s: Sample) -> tuple[list[bytes], bytes | None, Expect]:
    lines = s.lines
    lines[0] = BOM + lines[0]
    return lines, None, Expect(exits=ONLY_0, clean=True)


def _line_endings(style: str) -> Mutation:
    def mutate(s: Sample) -> tuple[list[bytes], bytes | None, Expect]:
        if style == "flip":  # CRLF for a file written with LF, and the other way round
            eol = b"\n" if s.eol == b"\r\n" else b"\r\n"
            return s.lines, eol, Expect(exits=ONLY_0, clean=True)
        # mixed: CRLF and LF alternate; encoded by the caller from the marker below
        return s.lines, b"mixed", Expect(exits=UNREADABLE_LINE)

    return mutate


def _lone_cr(s: Sample) -> tuple[list[bytes], bytes | None, Expect]:
    lines = s.lines
    i = _victim(s)
    lines[i] = lines[i][:3] + b"\r" + lines[i][3:]
    return lines, None, Expect()


def _nul(s: Sample) -> tuple[list[bytes], bytes | None, Expect] | None:
    spec = s.spec
    where = spec.integer if spec.integer is not None else spec.number
    if where is None:
        return None
    lines = s.lines
    i = _victim(s)
    value = get_field(spec, lines[i], where)
    raw = value[:1] + b"\x00" + value[1:]
    lines[i] = set_field(spec, lines[i], where, raw)
    return lines, None, Expect(exits=UNREADABLE_LINE, must_reject=True)


def _nul_line(s: Sample) -> tuple[list[bytes], bytes | None, Expect]:
    lines = s.lines
    lines.insert(_victim(s), b"\x00" * 40)
    return lines, None, Expect(exits=UNREADABLE_LINE, must_reject=True)


def _repeated_header(s: Sample) -> tuple[list[bytes], bytes | None, Expect] | None:
    if s.spec.kind == "swf":
        lines = s.lines
        lines[_victim(s) : _victim(s)] = list(s.header)  # comments again: not records
        return lines, None, Expect()
    if not s.header:
        return None
    lines = s.lines
    lines.insert(_victim(s), s.header[0])
    return lines, None, Expect(must_reject=True)


def _empty_field(s: Sample) -> tuple[list[bytes], bytes | None, Expect] | None:
    spec = s.spec
    where = next((w for w in (spec.integer, spec.number, spec.time) if w is not None), None)
    if where is None:
        return None
    lines = s.lines
    i = _victim(s)
    lines[i] = set_field(spec, lines[i], where, b"null" if spec.kind == "jsonl" else b"")
    return lines, None, Expect()


def _all_empty_row(s: Sample) -> tuple[list[bytes], bytes | None, Expect]:
    spec = s.spec
    lines = s.lines
    i = _victim(s)
    if spec.kind == "jsonl":
        row = b"{}"
    elif spec.kind == "swf":
        row = b" ".join([b"-1"] * 18)  # every field "unknown"
    else:
        row = b"," * (len(split_fields(spec, lines[i])) - 1)
    lines.insert(i, row)
    return lines, None, Expect(reject_or_finding=True)


def _swf_huge_header(s: Sample) -> tuple[list[bytes], bytes | None, Expect] | None:
    if s.spec.kind != "swf":
        return None
    lines = [
        b"; MaxProcs: " + b"9" * 300 if line.startswith(b"; MaxProcs:") else line
        for line in s.lines
    ]
    return lines, None, Expect()


TWO_64 = str(2**64).encode()
DIGITS_300 = b"9" * 300

MUTATIONS: dict[str, Mutation] = {
    "unchanged": lambda s: (s.lines, None, Expect(exits=ONLY_0, clean=True)),
    "truncated mid-line": _truncate_mid_line,
    "unterminated quote": _unterminated_quote,
    "quote inside a field": _quote_mid_field,
    "line over 2 MB": _long_line,
    "line with 100000 fields": _many_fields,
    "UTF-8 BOM": _bom,
    "other line ending": _line_endings("flip"),
    "mixed CRLF and LF": _line_endings("mixed"),
    "lone CR mid-line": _lone_cr,
    "NUL in a number": _nul,
    "line of NULs": _nul_line,
    "nan integer": _on_field("integer", b"nan", must_reject=True),
    "nan number": _on_field("number", b"nan", must_reject=True),
    "-inf number": _on_field("number", b"-inf", must_reject=True),
    "2^64 integer": _on_field("integer", TWO_64, must_reject=True),
    "300-digit integer": _on_field("integer", DIGITS_300, must_reject=True),
    "2^64 number": _on_field("number", TWO_64),
    "300-digit number": _on_field("number", DIGITS_300),
    "10.5 integer": _on_field("integer", b"10.5", must_reject=True),
    "300-digit time": _on_field("time", DIGITS_300, must_reject=True),
    "time with +05:00": _time_mutation("zone"),
    "time past year 9999": _time_mutation("future"),
    "repeated header mid-file": _repeated_header,
    "empty field": _empty_field,
    "all-empty row": _all_empty_row,
    "300-digit header value": _swf_huge_header,
}


def make_case(spec: Spec, mutation: str, sample: Sample | None = None) -> Case | None:
    """The named mutation of `spec`'s sample, or None where it does not apply."""
    s = sample or load_sample(spec)
    made = MUTATIONS[mutation](s)
    if made is None:
        return None
    lines, eol, expect = made
    if eol == b"mixed":
        content = b"".join(line + (b"\r\n" if k % 2 else b"\n") for k, line in enumerate(lines))
    elif eol == b"":  # truncated: the last line has no ending
        content = s.encode(lines[:-1]) + lines[-1]
    else:
        content = s.encode(lines, eol)
    return Case(f"{spec.id}: {mutation}", spec, content, expect)


def gzip_cut_case(spec: Spec, sample: Sample | None = None) -> Case:
    s = sample or load_sample(spec)
    return Case(
        f"{spec.id}: truncated mid-gzip",
        spec,
        s.encode(),
        Expect(exits=frozenset({1})),
        gzip_cut=True,
    )


def with_default_limit(case: Case) -> Case:
    """The case under the default --max-rejected (1%): one bad line in 120 may pass, a line
    that spans many records may not; either way the invariant holds."""
    expect = replace(case.expect, exits=frozenset({0, 1}))
    return replace(case, id=case.id + " (default --max-rejected)", max_rejected=None, expect=expect)


def damaged_lines(spec: Spec, mutation: str) -> list[bytes]:
    """The lines a mutation changes or adds (none when it changes line endings or does not
    apply), so that many kinds of damage can share one file."""
    s = load_sample(spec)
    made = MUTATIONS[mutation](s)
    if made is None or made[1] is not None:
        return []
    extra = Counter(made[0]) - Counter(s.lines)
    return list(extra.elements())


# ---------------------------------------------------------------- bounded work


def run_cli_captured(args: list[str]) -> tuple[int, str, str]:
    """`traces ARGS` in this process with its output captured: what the sandbox's worker
    process runs."""
    import contextlib
    import io
    import os
    import sys

    import traces_cli

    os.environ["COLUMNS"] = "200"
    out, err = io.StringIO(), io.StringIO()
    sys.argv = ["traces", *args]
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            traces_cli.main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return code, out.getvalue(), err.getvalue()


class Sandbox:
    """A worker process that runs `traces` commands and is killed when one takes longer
    than its limit: a case that makes ingest work for minutes (issue 11, class 7) fails in
    seconds instead of stalling the suite. The worker is reused; imports are paid once."""

    def __init__(self) -> None:
        self._pool: multiprocessing.pool.Pool | None = None

    def _start(self) -> multiprocessing.pool.Pool:
        if self._pool is None:
            self._pool = multiprocessing.get_context("spawn").Pool(1)
            self._pool.apply(run_cli_captured, (["sources"],))  # import everything once
        return self._pool

    def run(self, *args: object, timeout: float) -> tuple[int, str, str] | None:
        """(exit code, stdout, stderr), or None when the command was killed at `timeout`."""
        pool = self._start()
        pending = pool.apply_async(run_cli_captured, ([str(a) for a in args],))
        try:
            return pending.get(timeout)
        except multiprocessing.TimeoutError:
            self.close()
            return None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
