"""Alibaba PAI GPU cluster trace v2020 (MLaaS in the Wild, NSDI'22).

The release is seven header-less CSV tables, each published as `<table>.tar.gz` holding
`<table>.csv`, with the column names in a `<table>.header` file beside it. Four are read here,
one source each, from the extracted CSV (DuckDB) or straight from the archive (streamed member
by member with `tarfile`, parsed in batches into Arrow; nothing is extracted to disk):

- `pai_job_table` -> jobs: one row per job; its start_time is the *submission* time.
- `pai_task_table` -> jobs: one row per task (ps, worker, evaluator, ...). plan_cpu and plan_gpu
  are percent of one core/GPU and plan_mem GB, all *per instance*; num_gpus/num_cpus/mem_gb are
  the task's whole request (inst_num x per-instance), the per-instance values stay in `extra`.
- `pai_instance_table` -> jobs: one row per instance, keyed by worker_name.
- `pai_machine_spec` -> summaries: capacity (cpus, mem_gb, gpus) per machine, kind = GPU type.

Times are seconds shifted by a constant (the time of day is right when read in UTC+8); they are
anchored at 1970-01-01 UTC like every relative trace. A time of 0 means "never" (the dataset's
own analysis/utils.py turns 0 into NaN), so it becomes NULL. Status: only Terminated is
success; Running/Waiting and anything else are unknown.

Values are kept or rejected, never changed (the CSV and the archive readers apply the same
rules): capacities must be whole numbers >= 0, times and requests finite numbers, times within
the years 1..9999, and a row needs its first field (job, machine); a copy of the header line
inside the data is rejected as repeated-header.

Only the machine spec is real here; the job, task and instance sources are tested on fixtures
written to the published schema (alibaba/clusterdata, cluster-trace-gpu-v2020/README.md).
"""

from __future__ import annotations

import csv
import re
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ingest.errors import CorruptFile, EmptyFile, MissingColumns
from ingest.problems import Rejected
from ingest.records import CSV_WITH_HEADER, CSV_WITHOUT_HEADER, RecordRule
from ingest.sources.base import ReadContext, Source, TableQuery, head_lines, read_head
from ingest.sources.checks import (
    PROBLEM,
    WHOLE,
    BadValue,
    check_seconds,
    checked_scan,
    parse_finite,
    parse_whole,
    seconds_in_range,
    ts_from_seconds,
)

BATCH_ROWS = 50_000
TAR_BLOCK = 512
SUFFIXES = (".csv", ".csv.gz", ".tar.gz", ".tgz", ".tar")
CITATION = (
    'Weng et al., "MLaaS in the Wild: Workload Analysis and Scheduling in Large-Scale '
    'Heterogeneous GPU Clusters", NSDI 2022.'
)
_ARROW_TYPES = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), WHOLE: pa.int64()}
_WORD = re.compile(r"^[A-Za-z]+$")


@dataclass(frozen=True)
class PaiTable:
    """One table of the release: its file stem, documented columns and canonical mapping."""

    stem: str
    columns: tuple[str, ...]
    types: dict[str, str]
    table: str
    select: str  # SQL over `{src}`, a relation with the documented columns and types

    @property
    def expects(self) -> str:
        return (
            f"{self.stem}.csv (or {self.stem}.tar.gz), header-less CSV with "
            f"{len(self.columns)} fields: {','.join(self.columns)}"
        )

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([(c, _ARROW_TYPES[self.types.get(c, "VARCHAR")]) for c in self.columns])


def _ts(col: str) -> str:
    return f"CASE WHEN {col} > 0 THEN {ts_from_seconds(col)} END"


def _span(start: str, end: str) -> str:
    return f"CASE WHEN {start} > 0 AND {end} > 0 THEN {end} - {start} END"


_STATUS = (
    "CASE status WHEN 'Terminated' THEN 'ok' WHEN 'Failed' THEN 'failed' ELSE 'unknown' END "
    "AS status, status AS status_raw"
)
_TIMES = {"start_time": "DOUBLE", "end_time": "DOUBLE"}

JOB_TABLE = PaiTable(
    stem="pai_job_table",
    columns=("job_name", "inst_id", "user", "status", "start_time", "end_time"),
    types=_TIMES,
    table="jobs",
    select=f"""
    SELECT job_name AS job_id, "user" AS tenant, {_ts("start_time")} AS submit_ts,
           {_ts("end_time")} AS end_ts, {_STATUS},
           json_object('inst_id', inst_id)::VARCHAR AS extra, _problem
    FROM {{src}}""",
)

TASK_TABLE = PaiTable(
    stem="pai_task_table",
    columns=(
        "job_name",
        "task_name",
        "inst_num",
        "status",
        "start_time",
        "end_time",
        "plan_cpu",
        "plan_mem",
        "plan_gpu",
        "gpu_type",
    ),
    types={
        **_TIMES,
        "inst_num": "DOUBLE",
        "plan_cpu": "DOUBLE",
        "plan_mem": "DOUBLE",
        "plan_gpu": "DOUBLE",
    },
    table="jobs",
    select=f"""
    SELECT job_name || '/' || task_name AS job_id, task_name AS job_type,
           {_ts("start_time")} AS start_ts, {_ts("end_time")} AS end_ts,
           {_span("start_time", "end_time")} AS run_s,
           inst_num * plan_gpu / 100 AS num_gpus, inst_num * plan_cpu / 100 AS num_cpus,
           inst_num * plan_mem AS mem_gb, {_STATUS},
           json_object('job_name', job_name, 'inst_num', inst_num, 'gpu_type', gpu_type,
                       'gpus_per_instance', plan_gpu / 100, 'cpus_per_instance', plan_cpu / 100,
                       'mem_gb_per_instance', plan_mem)::VARCHAR AS extra, _problem
    FROM {{src}}""",
)

INSTANCE_TABLE = PaiTable(
    stem="pai_instance_table",
    columns=(
        "job_name",
        "task_name",
        "inst_name",
        "worker_name",
        "inst_id",
        "status",
        "start_time",
        "end_time",
        "machine",
    ),
    types=_TIMES,
    table="jobs",
    # worker_name is the instance key the other tables join on; inst_name is coarser.
    select=f"""
    SELECT coalesce(worker_name, inst_name) AS job_id, task_name AS job_type,
           {_ts("start_time")} AS start_ts, {_ts("end_time")} AS end_ts,
           {_span("start_time", "end_time")} AS run_s, {_STATUS},
           json_object('job_name', job_name, 'inst_name', inst_name, 'inst_id', inst_id,
                       'machine', machine)::VARCHAR AS extra, _problem
    FROM {{src}}""",
)

MACHINE_SPEC = PaiTable(
    stem="pai_machine_spec",
    columns=("machine", "gpu_type", "cap_cpu", "cap_mem", "cap_gpu"),
    types={"cap_cpu": WHOLE, "cap_mem": "DOUBLE", "cap_gpu": WHOLE},
    table="summaries",
    # One scan with a cross join, not a UNION: an Arrow stream can be read only once.
    select="""
    SELECT s.machine AS entity, s.gpu_type AS kind, m.metric,
           CASE m.metric WHEN 'cpus' THEN s.cap_cpu WHEN 'mem_gb' THEN s.cap_mem
                ELSE s.cap_gpu END AS value,
           m.unit, s._problem
    FROM {src} s
    CROSS JOIN (VALUES ('cpus', 'cores'), ('mem_gb', 'GB'), ('gpus', 'GPUs')) m(metric, unit)
    -- A rejected line stays one row (the lake drops it), not one per metric.
    WHERE s._problem IS NULL OR m.metric = 'cpus'""",
)


# ---------------------------------------------------------------- recognizing files


def _is_tar(head: bytes) -> bool:
    return len(head) >= TAR_BLOCK and head[257:262] == b"ustar"


def _tar_first_member(head: bytes) -> str:
    return head[:100].split(b"\0", 1)[0].decode("utf-8", errors="replace")


def _basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _csv_fields(line: str) -> list[str]:
    return next(csv.reader([line]), [])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _row_fits(t: PaiTable, fields: list[str]) -> bool:
    """A data row of `t`: right field count, numbers where numbers go, a one-word status."""
    if len(fields) != len(t.columns) or not fields[0]:
        return False
    for col, value in zip(t.columns, fields, strict=True):
        kind = t.types.get(col, "VARCHAR")
        if kind != "VARCHAR" and value and not _is_number(value):
            return False
        if col == "status" and value and not _WORD.match(value):
            return False
    return True


def _csv_head(head: bytes) -> bytes:
    """The CSV text at the start of `head`: past the tar header when it is an archive."""
    return head[TAR_BLOCK:] if _is_tar(head) else head


def _has_header(t: PaiTable, head: bytes) -> bool:
    lines = head_lines(_csv_head(head), 1)
    return bool(lines) and _csv_fields(lines[0]) == list(t.columns)


def _sniffer(t: PaiTable) -> Callable[[bytes, str], bool]:
    def sniff(head: bytes, name: str) -> bool:
        base = _basename(name)
        if not (base.startswith(t.stem) and base.endswith(SUFFIXES)):
            return False
        if _is_tar(head) and _basename(_tar_first_member(head)) != f"{t.stem}.csv":
            return False
        lines = head_lines(_csv_head(head), 3)
        if lines and _csv_fields(lines[0]) == list(t.columns):
            lines = lines[1:]
        return bool(lines) and _row_fits(t, _csv_fields(lines[0]))

    return sniff


# ---------------------------------------------------------------- reading


def _convert(text: str, kind: str, col: str) -> str | float | int | None:
    """One field as its declared type, by the rules of checked scans (BadValue otherwise)."""
    if kind == "DOUBLE":
        value = parse_finite(text, col)
        if col in _TIMES:
            check_seconds(value, col, text)
        return value
    if kind == WHOLE:
        return parse_whole(text, col)
    return text if text != "" else None


def _problem(t: PaiTable, fields: list[str]) -> tuple[str, str, str | None] | None:
    if len(fields) != len(t.columns):
        return "wrong-column-count", f"{len(fields)} fields, expected {len(t.columns)}", None
    if fields == list(t.columns):
        return "repeated-header", "the header line again", None
    if not fields[0].strip():
        return "missing-field", f"{t.columns[0]}: the field is empty; every row needs it", None
    for col, value in zip(t.columns, fields, strict=True):
        try:
            _convert(value, t.types.get(col, "VARCHAR"), col)
        except BadValue as e:
            return e.problem, str(e), col
    return None


def _member_rows(
    t: PaiTable, path: Path, text: Iterable[str], ctx: ReadContext
) -> Iterator[pa.RecordBatch]:
    cols: dict[str, list[str | float | int | None]] = {c: [] for c in t.columns}
    where = f"{path} ({t.stem}.csv)"
    reader = csv.reader(text)
    for fields in reader:
        if not fields or (reader.line_num == 1 and fields == list(t.columns)):
            continue
        problem = _problem(t, fields)
        if problem:
            slug, message, column = problem
            raw = ",".join(fields)[:500]
            ctx.reject(Rejected(where, reader.line_num, slug, message, raw, column))
            continue
        for col, value in zip(t.columns, fields, strict=True):
            cols[col].append(_convert(value, t.types.get(col, "VARCHAR"), col))
        if len(cols[t.columns[0]]) >= BATCH_ROWS:
            yield pa.RecordBatch.from_pydict(cols, schema=t.arrow_schema)
            cols = {c: [] for c in t.columns}
    if cols[t.columns[0]]:
        yield pa.RecordBatch.from_pydict(cols, schema=t.arrow_schema)


def _lines(raw: Iterable[bytes]) -> Iterator[str]:
    """Decoded lines; a UTF-8 byte-order mark before the first is not part of the data."""
    first = True
    for line in raw:
        text = line.decode("utf-8", errors="replace")
        if first:
            text, first = text.removeprefix("\ufeff"), False
        yield text


def _tar_batches(t: PaiTable, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
    """Rows of `<stem>.csv` inside the archive, streamed: the archive is never held whole."""
    try:
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                if member.isfile() and _basename(member.name) == f"{t.stem}.csv":
                    raw = archive.extractfile(member)
                    if raw is None:
                        break
                    # Line by line: TextIOWrapper needs seekable(), which a streamed member lacks.
                    text = _lines(raw)
                    yield from _member_rows(t, path, text, ctx)
                    return
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise CorruptFile(
            f"{path}: the archive cannot be read to the end ({e}). It is probably truncated; "
            "download it again and check its sha256 against the dataset README."
        ) from e
    raise EmptyFile(f"{path}: the archive holds no {t.stem}.csv; expected {t.expects}.")


def _check_member(t: PaiTable, path: Path, head: bytes) -> None:
    """Fail before reading when an archive does not start with the table's CSV."""
    if not _is_tar(head):
        return
    member = _tar_first_member(head)
    if _basename(member) != f"{t.stem}.csv":
        raise EmptyFile(
            f"{path}: the archive starts with {member!r}, not {t.stem}.csv; expected "
            f"{t.expects}. If this is another table, pass --source NAME (`traces sources`)."
        )


def _check_layout(t: PaiTable, path: Path, head: bytes, source: str) -> None:
    lines = head_lines(head, 2)
    if not lines:
        raise EmptyFile(f"{path}: the file is empty; expected {t.expects}.")
    first = _csv_fields(lines[0])
    if first == list(t.columns):
        if len(lines) < 2:
            raise EmptyFile(f"{path}: the file has a header but no rows; expected {t.expects}.")
        return
    if len(first) != len(t.columns):
        raise MissingColumns(
            f"{path}, line 1: {len(first)} fields where source '{source}' expects "
            f"{len(t.columns)} ({','.join(t.columns)}). Expected {t.expects}. If this file "
            "is another format, pass --source NAME (see `traces sources`)."
        )


def _reader(
    t: PaiTable, source: str
) -> Callable[[Sequence[Path], ReadContext], Iterator[TableQuery]]:
    def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
        for path in paths:
            head = read_head(path)
            if not head.strip():
                raise EmptyFile(f"{path}: the file is empty; expected {t.expects}.")
            _check_member(t, path, head)
            _check_layout(t, path, _csv_head(head), source)
            if _is_tar(head):
                batches = _tar_batches(t, path, ctx)
                # The Python reader rejects bad rows itself: no row here has a problem.
                src = f"(SELECT *, NULL::VARCHAR AS {PROBLEM} FROM arrow_input)"
                yield TableQuery(
                    table=t.table,
                    sql=t.select.format(src=src),
                    files=(path,),
                    arrow=pa.RecordBatchReader.from_batches(t.arrow_schema, batches),
                    constants={"stat": "capacity"} if t.table == "summaries" else {},
                )
                continue
            rejects = ctx.rejects_table()
            scan, checks = checked_scan(
                path,
                t.columns,
                t.types,
                rejects,
                header=_has_header(t, head),
                required=t.columns[:1],
                checks=[seconds_in_range(c, c) for c in _TIMES if c in t.columns],
            )
            yield TableQuery(
                table=t.table,
                sql=t.select.format(src=scan),
                files=(path,),
                rejects=rejects,
                checks=checks,
                constants={"stat": "capacity"} if t.table == "summaries" else {},
            )

    return read


def _record_rule(t: PaiTable, path: Path) -> RecordRule | None:
    """CSV lines after an optional header; a tar archive's records sit inside its member."""
    head = read_head(path)
    if _is_tar(head):
        return None
    return CSV_WITH_HEADER if _has_header(t, head) else CSV_WITHOUT_HEADER


def _source(
    t: PaiTable, suffix: str, description: str, fixture_only: bool, resolution: float | None
) -> Source:
    name = f"alibaba_pai_2020_{suffix}"
    return Source(
        records=lambda path: _record_rule(t, path),
        name=name,
        family="datacenter",
        tables=(t.table,),
        description=description,
        citation=CITATION,
        expects=t.expects,
        time_resolution_s=resolution,
        time_origin="relative",
        sniff=_sniffer(t),
        read=_reader(t, name),
        trace_name=lambda _path: name,
        columns=t.columns,
        fixture_only=fixture_only,
    )


SOURCE_JOBS = _source(
    JOB_TABLE,
    "jobs",
    "Alibaba PAI 2020 GPU cluster: jobs with user, submission and end time, final status.",
    fixture_only=True,
    resolution=1.0,
)
SOURCE_TASKS = _source(
    TASK_TABLE,
    "tasks",
    "Alibaba PAI 2020 GPU cluster: tasks (ps, worker, ...) with GPU/CPU/memory requests.",
    fixture_only=True,
    resolution=1.0,
)
SOURCE_INSTANCES = _source(
    INSTANCE_TABLE,
    "instances",
    "Alibaba PAI 2020 GPU cluster: task instances with start/end time, machine and status.",
    fixture_only=True,
    resolution=1.0,
)
SOURCE_MACHINE_SPEC = _source(
    MACHINE_SPEC,
    "machine_spec",
    "Alibaba PAI 2020 GPU cluster: CPU, memory and GPU capacity of each of ~1,900 machines.",
    fixture_only=False,
    resolution=None,  # capacities only: no times
)
