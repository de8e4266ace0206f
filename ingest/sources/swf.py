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
  anchored at 1970-01-01 UTC like relative traces (the source says absolute, the PWA logs have it).
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
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import pyarrow as pa

from ingest.errors import CorruptFile, EmptyFile
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


# ---------------------------------------------------------------- header and sniffing


def parse_header(head: bytes) -> dict[str, str]:
    """`; Key: value` comments from the start of the file (continuation lines skipped)."""
    header: dict[str, str] = {}
    for line in head.decode("utf-8", errors="replace").splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith(";"):
            break
        m = _HEADER.match(stripped)
        if m and m.group(2):
            header.setdefault(m.group(1), m.group(2))
    return header


def _first_job(head: bytes) -> list[str] | None:
    lines = head_lines(head, 10_000)
    complete = lines if head.endswith(b"\n") else lines[:-1]
    for line in complete:
        if line.strip() and not line.lstrip().startswith(";"):
            return line.split()
    return None


def sniff(head: bytes, name: str) -> bool:
    text = head.lstrip()
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


def _parse(line: str) -> tuple[list[float] | None, str, str]:
    """(values, problem, message): values is None when the line is rejected."""
    parts = line.split()
    if len(parts) != len(FIELDS):
        return None, "wrong-column-count", f"{len(parts)} fields, expected {len(FIELDS)}"
    try:
        return [float(p) for p in parts], "", ""
    except ValueError:
        bad = next(p for p in parts if not _NUMBER.match(p))
        return None, "unparsable-value", f"{bad!r} is not a number"


def _batches(path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
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
                if not text or text.startswith(";"):
                    continue
                jobs += 1
                values, problem, message = _parse(text)
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
           make_timestamptz(CAST(({submit_s}) * 1e6 AS BIGINT)) AS submit_ts,
           make_timestamptz(CAST(({start_s}) * 1e6 AS BIGINT)) AS start_ts,
           make_timestamptz(CAST(({end_s}) * 1e6 AS BIGINT)) AS end_ts,
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


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        head = read_head(path)
        if _first_job(head) is None and len(head) < HEAD_BYTES:
            raise EmptyFile(f"{path}: the file has no job lines; expected {EXPECTS}.")
        header = parse_header(head)
        start = header.get("UnixStartTime", "0")
        start_unix = float(start) if _NUMBER.match(start) else 0.0
        yield TableQuery(
            table="jobs",
            sql=jobs_sql(start_unix),
            files=(path,),
            arrow=pa.RecordBatchReader.from_batches(ARROW_SCHEMA, _batches(path, ctx)),
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
SWF_RECORDS = RecordRule(header_lines=0, comment=b";")

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
