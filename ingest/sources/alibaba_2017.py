"""Alibaba cluster-trace-v2017: batch_task.csv, one row per batch task (a group of instances).

Header-less CSV with 8 fields (alibaba/clusterdata cluster-trace-v2017/schema.csv): task create
time (s), task end time (s; "latest state modification time" in trace_201708.md), job id, task
id, number of instances, status (Terminated | Failed | Running | Waiting, also Ready | Cancelled
in the docs), CPUs requested per instance, normalized memory requested per instance. Copies
with a header line (some mirrors add one) are read too.

Mapping:
- times are seconds from the start of the trace window (time_origin relative); 0 means "before
  the window" and becomes NULL, negative values are real times before the start and are kept.
- status: Terminated ok, Failed failed, Cancelled cancelled, Running/Waiting/Ready unknown
  (still in progress when the trace ends).
- submit_ts = create time. The task table has no start time, so start_ts, queue_s and run_s are
  NULL; the create-to-end span is in extra as create_to_end_s. end_ts is the end time only for
  finished tasks (Terminated, Failed, Cancelled): for the others it is the last state change.
- num_cpus = CPUs per instance / 100 (100 = 1 core, as cluster-trace-v2018 states for the same
  Fuxi field; v2017 requests are 40..800, mostly 50 and 100). It is PER INSTANCE, like the
  source; the instance count and the normalized memory request (unitless) go to extra.

Values are kept or rejected, never changed: times, ids and instance counts must be whole
numbers (a fractional one is rejected with its line, not rounded), a row needs its job and
task id, plan_cpu/plan_mem must be finite, and a time must lie within the years 1..9999.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from ingest.records import CSV_WITH_HEADER, CSV_WITHOUT_HEADER, RecordRule
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    head_lines,
    read_head,
    require_fields,
)
from ingest.sources.checks import (
    PROBLEM,
    SIGNED,
    WHOLE,
    checked_scan,
    seconds_in_range,
    ts_from_seconds,
)

COLUMNS = (
    "create_time",
    "end_time",
    "job_id",
    "task_id",
    "instances",
    "status",
    "plan_cpu",
    "plan_mem",
)
TYPES = {
    "create_time": SIGNED,
    "end_time": SIGNED,
    "job_id": WHOLE,
    "task_id": WHOLE,
    "instances": WHOLE,
    "status": "VARCHAR",
    "plan_cpu": "DOUBLE",
    "plan_mem": "DOUBLE",
}
STATUSES = ("Terminated", "Failed", "Running", "Waiting", "Ready", "Cancelled")
FINISHED = ("Terminated", "Failed", "Cancelled")
EXPECTS = (
    "Alibaba cluster-trace-v2017 batch_task.csv: header-less CSV with 8 fields: create time,"
    "end time,job id,task id,instances,status,plan cpu,plan mem (e.g. "
    "6459,6524,3,4,15740,Terminated,50,0.007956928)"
)

_INT = re.compile(r"-?\d+$")
_NUM = re.compile(r"(\d+(\.\d*)?([eE]-?\d+)?)?$")
_SNIFF_LINES = 20


def _data_lines(head: bytes) -> tuple[bool, list[list[str]]]:
    """(has a header line, the first data lines split on commas); a cut last line is dropped."""
    lines = head_lines(head, _SNIFF_LINES + 2)
    if len(lines) > _SNIFF_LINES + 1 or not head.endswith(b"\n"):
        lines = lines[:-1]
    header = bool(lines) and lines[0].startswith("task_create_time")
    return header, [line.split(",") for line in lines[header:] if line]


def _row_ok(r: list[str]) -> bool:
    return (
        len(r) == len(COLUMNS)
        and all(_INT.match(r[i]) for i in range(5))
        and r[5] in STATUSES
        and _NUM.match(r[6]) is not None
        and _NUM.match(r[7]) is not None
    )


def sniff(head: bytes, name: str) -> bool:
    _, rows = _data_lines(head)
    return "batch_task" in name and bool(rows) and all(_row_ok(r) for r in rows)


def _time(col: str) -> str:
    return f"CASE WHEN {col} <> 0 THEN {ts_from_seconds(col)} END"


_STATUS_MAP = (
    "CASE status WHEN 'Terminated' THEN 'ok' WHEN 'Failed' THEN 'failed' "
    "WHEN 'Cancelled' THEN 'cancelled' ELSE 'unknown' END"
)
_FINISHED = ", ".join(f"'{s}'" for s in FINISHED)


def tasks_sql(scan: str) -> str:
    return f"""
    SELECT job_id || '/' || task_id AS job_id,
           {_time("create_time")} AS submit_ts,
           CASE WHEN status IN ({_FINISHED}) THEN {_time("end_time")} END AS end_ts,
           plan_cpu / 100 AS num_cpus,
           {_STATUS_MAP} AS status,
           status AS status_raw,
           json_object(
               'job_id', job_id, 'task_id', task_id, 'instances', instances,
               'plan_cpu', plan_cpu, 'plan_mem_normalized', plan_mem,
               'create_to_end_s', CASE WHEN status IN ({_FINISHED})
                   AND create_time <> 0 AND end_time <> 0
                   THEN (end_time - create_time)::DOUBLE END,
               'last_change_s', CASE WHEN status NOT IN ({_FINISHED})
                   AND end_time <> 0 THEN end_time END
           )::VARCHAR AS extra,
           {PROBLEM}
    FROM {scan}"""


def _record_rule(path: Path) -> RecordRule:
    """Released files have no header; a header line, where someone added one, is no record."""
    has_header, _ = _data_lines(read_head(path))
    return CSV_WITH_HEADER if has_header else CSV_WITHOUT_HEADER


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        require_fields(path, len(COLUMNS), EXPECTS, "alibaba_2017_batch")
        has_header, _ = _data_lines(read_head(path))
        rejects = ctx.rejects_table()
        scan, checks = checked_scan(
            path,
            COLUMNS,
            TYPES,
            rejects,
            header=has_header,
            quote=None,
            required=("job_id", "task_id"),
            checks=[seconds_in_range(c, c) for c in ("create_time", "end_time")],
        )
        yield TableQuery(
            table="jobs",
            sql=tasks_sql(scan),
            files=(path,),
            constants={"job_type": "batch_task"},
            rejects=rejects,
            checks=checks,
        )


SOURCE = Source(
    records=_record_rule,
    name="alibaba_2017_batch",
    family="datacenter",
    tables=("jobs",),
    description="Alibaba cluster trace 2017 batch tasks: one row per task with its final "
    "status; CPU request per instance in cores, normalized memory in extra.",
    citation='Lu et al., "Imbalance in the cloud: An analysis on Alibaba cluster trace", '
    "IEEE BigData 2017.",
    expects=EXPECTS,
    time_resolution_s=1.0,
    time_origin="relative",
    sniff=sniff,
    read=read,
    trace_name=lambda path: "alibaba_2017_batch_task",
)
