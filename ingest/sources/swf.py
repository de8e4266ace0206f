"""Standard Workload Format (SWF v2.2) logs of the Parallel Workloads Archive (PWA).

Header comments start with `;` (`; UnixStartTime: 843480031`, `; MaxProcs: 100`, ...), then one
job per line, 18 whitespace-separated numeric fields, -1 = unknown: job number, submit time (s
from the log start), wait time, run time, allocated processors, average CPU time used, used
memory (KB per processor), requested processors, requested time, requested memory (KB per
processor), status, user, group, executable, queue, partition, preceding job, think time.

Whitespace-separated columns of varying width are not something DuckDB's CSV reader splits, so
a small Python loop splits the lines into Arrow batches (memory stays flat) and reports bad lines
with their line numbers; the mapping to canonical columns is SQL.

Mapping:
- Times: `UnixStartTime` is the log start in Unix seconds (UTC); submit_ts = UnixStartTime +
  submit, start_ts = submit_ts + wait, end_ts = start_ts + run. The TimeZone/TimeZoneString
  headers only say how to show local time and are not applied. A log without UnixStartTime is
  anchored at 1970-01-01 UTC and its manifest says `time_origin: relative`, like relative
  traces, so no analysis reads its times as dates or hours of day.
- status: 1 ok, 0 failed, 5 cancelled; with checkpointing, 2 (partial execution, continued
  later) unknown, 3 (last part, completed) ok, 4 (last part, failed) failed; -1 unknown with
  status_raw NULL.
- num_cpus = requested processors, or allocated ones when the request is unknown; mem_gb =
  requested memory per processor x num_cpus (KB = 1024 bytes, GB = 1024 MiB). The other fields
  (allocated processors, CPU time, used memory, requested time, group, executable, queue,
  preceding job, think time) go to extra; tenant = user, cluster = partition.
- Header comments: UnixStartTime anchors the times; MaxProcs and MaxNodes become `summaries`
  rows (entity = the `Computer`, metric cpus / nodes, stat 'capacity') so utilization can be
  computed; the other comments are not stored (they stay in the raw file the manifest hashes).

Values are kept or rejected, never changed: every field must be a plain finite number; ids,
counts, status and memory whole numbers; a job whose submit, start or end time falls outside
the years 1..9999 is rejected with its line. A UnixStartTime, MaxProcs or MaxNodes header
value that is not a whole number (of seconds within those years, for UnixStartTime) stops
the ingest with the file and line: it would move or scale every job. A UTF-8 byte-order mark
before the header is skipped, so it never hides UnixStartTime.
"""

from __future__ import annotations

import gzip
import math
import re
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import pyarrow as pa

from ingest.errors import CorruptFile, DataError, EmptyFile
from ingest.problems import Rejected
from ingest.records import RecordRule
from ingest.sources.base import (
    HEAD_BYTES,
    ReadContext,
    Source,
    TableQuery,
    head_lines,
    is_gzip,
    read_head,
    slug,
    sql_str,
    stem,
)
from ingest.sources.checks import YEARS, BadValue, check_seconds, ts_from_seconds

FIELDS = (
    "job",
    "submit",
    "wait",
    "run",
    "alloc_procs",
    "avg_cpu_s",
    "used_mem_kb",
    "req_procs",
    "req_time_s",
    "req_mem_kb",
    "status",
    "user_id",
    "group_id",
    "executable",
    "queue",
    "partition",
    "preceding_job",
    "think_time_s",
)
ARROW_SCHEMA = pa.schema([(f, pa.float64()) for f in FIELDS])
BATCH_ROWS = 50_000
EXPECTS = (
    "a Standard Workload Format (.swf) log: ';' header comments, then 18 whitespace-separated "
    "numbers per job (job, submit, wait, run, procs, ..., status, user, ...; -1 = unknown)"
)
HEADER_KEYS = ("Version", "Computer", "UnixStartTime", "MaxJobs", "MaxRecords", "MaxProcs")

_HEADER = re.compile(r";\s*(\w+):\s*(.*?)\s*$")
_NUMBER = re.compile(r"-?\d+(\.\d*)?$")
_WHOLE_HEADER = re.compile(r"-?\d{1,15}")
# Fields that are ids, counts, codes or kilobytes: whole numbers (-1 = unknown), as the lake
# stores them. Times in seconds may carry decimals in some logs and stay floats.
WHOLE_FIELDS = (
    "job",
    "alloc_procs",
    "used_mem_kb",
    "req_procs",
    "req_mem_kb",
    "status",
    "user_id",
    "group_id",
    "executable",
    "queue",
    "partition",
    "preceding_job",
)


# ---------------------------------------------------------------- header and sniffing


def _text(head: bytes) -> str:
    # A UTF-8 byte-order mark would hide the first `;` and with it the whole header.
    return head.decode("utf-8", errors="replace").removeprefix("\ufeff")


def header_lines(head: bytes) -> dict[str, tuple[str, int]]:
    """`; Key: value` comments from the start of the file, with the line each is on
    (continuation lines skipped; the first of a repeated key counts)."""
    header: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(_text(head).splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith(";"):
            break
        m = _HEADER.match(stripped)
        if m and m.group(2):
            header.setdefault(m.group(1), (m.group(2), number))
    return header


def parse_header(head: bytes) -> dict[str, str]:
    """`; Key: value` comments from the start of the file (continuation lines skipped)."""
    return {k: v for k, (v, _) in header_lines(head).items()}


def _first_job(head: bytes) -> list[str] | None:
    lines = head_lines(head, 10_000)
    complete = lines if head.endswith(b"\n") else lines[:-1]
    for line in complete:
        if line.strip() and not line.lstrip().startswith(";"):
            return line.split()
    return None


def sniff(head: bytes, name: str) -> bool:
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        return False
    header = parse_header(head)
    job = _first_job(head)
    job_ok = job is not None and len(job) == len(FIELDS) and all(_NUMBER.match(v) for v in job)
    is_swf_name = ".swf" in name.lower()
    has_swf_header = text.startswith(b";") and any(k in header for k in HEADER_KEYS)
    # A header alone (no job within the head) is enough only with SWF keys in it.
    if job is None:
        return has_swf_header and is_swf_name
    return job_ok and (is_swf_name or has_swf_header)


# ---------------------------------------------------------------- reading


def _open(path: Path) -> IO[bytes]:
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _parse(line: str, start_unix: float) -> tuple[list[float] | None, str, str]:
    """(values, problem, message): values is None when the line is rejected.

    Every field is a plain decimal number, finite; ids, counts and the status must be whole
    (below 10^15, so exact as floats), and the job's submit, start and end times must land
    within the lake's years."""
    parts = line.split()
    if len(parts) != len(FIELDS):
        return None, "wrong-column-count", f"{len(parts)} fields, expected {len(FIELDS)}"
    values = []
    for field, text in zip(FIELDS, parts, strict=True):
        if not _NUMBER.match(text):
            try:
                finite = math.isfinite(float(text))
            except ValueError:
                finite = True
            if not finite:
                return None, "non-finite-number", f"{field}: {text!r} is not a finite number"
            return None, "unparsable-value", f"{field}: {text!r} is not a number"
        v = float(text)
        if field in WHOLE_FIELDS and not (v == math.trunc(v) and abs(v) < 1e15):
            return None, "unparsable-value", f"{field}: {text!r} is not a whole number"
        values.append(v)
    known = dict(zip(FIELDS, values, strict=True))
    t = start_unix
    for field in ("submit", "wait", "run"):
        if known[field] == -1:
            break
        t += known[field]
        try:
            check_seconds(t, field, parts[FIELDS.index(field)])
        except BadValue as e:
            return None, e.problem, str(e)
    return values, "", ""


def _batches(path: Path, ctx: ReadContext, start_unix: float) -> Iterator[pa.RecordBatch]:
    rows: list[list[float]] = []
    jobs = 0
    line_no = 0

    def flush() -> pa.RecordBatch:
        columns = list(zip(*rows, strict=True))
        rows.clear()
        return pa.RecordBatch.from_arrays(
            [pa.array(c, pa.float64()) for c in columns], schema=ARROW_SCHEMA
        )

    try:
        with _open(path) as f:
            for line_no, raw in enumerate(f, start=1):
                text = raw.decode("utf-8", errors="replace").strip()
                if line_no == 1:
                    text = text.removeprefix("\ufeff").strip()
                if not text or text.startswith(";"):
                    continue
                jobs += 1
                values, problem, message = _parse(text, start_unix)
                if values is None:
                    ctx.reject(Rejected(str(path), line_no, problem, message, text[:500]))
                    continue
                rows.append(values)
                if len(rows) >= BATCH_ROWS:
                    yield flush()
    except (EOFError, OSError, zlib.error) as e:
        raise CorruptFile(
            f"{path}: the file ends or breaks after line {line_no} ({e}). It is probably "
            "truncated; download it again and check its sha256."
        ) from e
    if jobs == 0:
        raise EmptyFile(f"{path}: the file has no job lines; expected {EXPECTS}.")
    if rows:
        yield flush()


def _known(col: str) -> str:
    """SWF writes -1 for unknown."""
    return f"nullif({col}, -1)"


def _id(col: str) -> str:
    return f"CAST(CAST({_known(col)} AS BIGINT) AS VARCHAR)"


_STATUS = (
    "CASE status WHEN 1 THEN 'ok' WHEN 0 THEN 'failed' WHEN 5 THEN 'cancelled' "
    "WHEN 3 THEN 'ok' WHEN 4 THEN 'failed' ELSE 'unknown' END"
)


def jobs_sql(start_unix: float) -> str:
    submit_s = f"{start_unix!r} + {_known('submit')}"
    start_s = f"{submit_s} + {_known('wait')}"
    end_s = f"{start_s} + {_known('run')}"
    procs = f"coalesce({_known('req_procs')}, {_known('alloc_procs')})"
    counts = ("alloc_procs", "req_procs", "used_mem_kb", "req_mem_kb")
    ids = ("group_id", "executable", "queue", "preceding_job")
    seconds = ("avg_cpu_s", "req_time_s", "think_time_s")
    extra = ", ".join(
        [f"'{f}', CAST({_known(f)} AS BIGINT)" for f in counts + ids]
        + [f"'{f}', {_known(f)}" for f in seconds]
    )
    return f"""
    SELECT {_id("job")} AS job_id,
           {_id("user_id")} AS tenant,
           {_id("partition")} AS cluster,
           {ts_from_seconds(submit_s)} AS submit_ts,
           {ts_from_seconds(start_s)} AS start_ts,
           {ts_from_seconds(end_s)} AS end_ts,
           {_known("wait")} AS queue_s,
           {_known("run")} AS run_s,
           {procs} AS num_cpus,
           {_known("req_mem_kb")} * {procs} / (1024.0 * 1024.0) AS mem_gb,
           {_STATUS} AS status,
           {_id("status")} AS status_raw,
           json_object({extra})::VARCHAR AS extra
    FROM arrow_input"""


def capacity_sql(header: dict[str, str]) -> str | None:
    """MaxProcs/MaxNodes header comments as summaries rows, or None when absent."""
    entity = header.get("Computer") or header.get("Installation") or "unknown"
    rows = []
    for key, metric, unit in (("MaxProcs", "cpus", "processors"), ("MaxNodes", "nodes", "nodes")):
        value = header.get(key, "")
        if _NUMBER.match(value):
            rows.append(f"({sql_str(entity)}, '{metric}', {float(value)!r}, '{unit}')")
    if not rows:
        return None
    return (
        "SELECT entity, metric, value, unit FROM (VALUES "
        + ", ".join(rows)
        + ") AS t(entity, metric, value, unit)"
    )


def _short(text: str) -> str:
    return repr(text if len(text) <= 24 else f"{text[:24]}... ({len(text)} characters)")


def _start_time(path: Path, head: bytes) -> float:
    """UnixStartTime in seconds (0 when absent); DataError naming the line when it is not a
    whole number of seconds within the lake's years (it would move every job)."""
    found = header_lines(head)
    for key in ("MaxProcs", "MaxNodes"):
        if key in found:
            value, line = found[key]
            if not _WHOLE_HEADER.fullmatch(value):
                raise DataError(
                    f"{path}, line {line}: {key} is {_short(value)}; expected a whole number "
                    f"of at most 15 digits. Fix that header line (or remove it) and ingest "
                    "again; the lake is unchanged."
                )
    if "UnixStartTime" not in found:
        return 0.0
    value, line = found["UnixStartTime"]
    ok = _WHOLE_HEADER.fullmatch(value) is not None
    if ok:
        try:
            check_seconds(float(value), "UnixStartTime")
        except BadValue:
            ok = False
    if not ok:
        raise DataError(
            f"{path}, line {line}: UnixStartTime is {_short(value)}; expected the log's start "
            f"in Unix seconds, a whole number within {YEARS}. Fix that header line and ingest "
            "again (without it, times count from 1970-01-01); the lake is unchanged."
        )
    return float(value)


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        head = read_head(path)
        if _first_job(head) is None and len(head) < HEAD_BYTES:
            raise EmptyFile(f"{path}: the file has no job lines; expected {EXPECTS}.")
        header = parse_header(head)
        start_unix = _start_time(path, head)
        if "UnixStartTime" not in header_lines(head):
            ctx.time_origin = "relative"  # times count from 1970-01-01, like relative traces
        yield TableQuery(
            table="jobs",
            sql=jobs_sql(start_unix),
            files=(path,),
            arrow=pa.RecordBatchReader.from_batches(ARROW_SCHEMA, _batches(path, ctx, start_unix)),
        )
        capacity = capacity_sql(header)
        if capacity:
            yield TableQuery(
                table="summaries",
                sql=capacity,
                files=(path,),
                constants={"stat": "capacity"},
                accounting="none",  # from the header; the jobs query accounts for the lines
            )


def trace_name(path: Path) -> str:
    return "swf_" + (slug(stem(path)) or "log")


# A job is a line; header lines and comments start with ';'.
SWF_RECORDS = RecordRule(header_lines=0, comment=b";", delimiter=None)  # fields: white space

SOURCE = Source(
    records=SWF_RECORDS,
    name="swf",
    family="datacenter",
    tables=("jobs", "summaries"),
    description="Parallel Workloads Archive logs in the Standard Workload Format: one row per "
    "HPC job (wait, run, processors, status); MaxProcs/MaxNodes as capacity summaries.",
    citation='Feitelson, Tsafrir, Krakov, "Experience with using the Parallel Workloads '
    'Archive", JPDC 74(10), 2014.',
    expects=EXPECTS,
    time_resolution_s=1.0,
    time_origin="absolute",
    sniff=sniff,
    read=read,
    trace_name=trace_name,
)
