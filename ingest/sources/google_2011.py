"""Google cluster-usage trace 2011 (clusterdata-2011-2, Borg): job_events and task_events.

Header-less CSV part files (`part-00000-of-00500.csv.gz`), one event per line. job_events has 8
fields (time, missing info, job ID, event type, user, scheduling class, job name, logical job
name); task_events has 13 (time, missing info, job ID, task index, machine ID, event type, user,
scheduling class, priority, CPU, memory and disk requests, different-machines restriction).
Event types: 0 SUBMIT, 1 SCHEDULE, 2 EVICT, 3 FAIL, 4 FINISH, 5 KILL, 6 LOST, 7 UPDATE_PENDING,
8 UPDATE_RUNNING.

The events of one job are spread over several part files, so all parts of one table form ONE
trace (google_2011_jobs, google_2011_tasks) and are aggregated in one DuckDB query: one `jobs`
row per job, or per task (job_id "<job id>/<task index>", job_type 'task').

Time: microseconds since 600 s before the trace window; 0 means "before the window" and 2^63-1
"after it", both stored as NULL. Stored times are shifted by the 600 s, so 1970-01-01 00:00 UTC
is the start of the window (time_origin relative).

Lifecycle rules, per job or task, events ordered by time (at equal times SUBMIT < SCHEDULE <
UPDATE_* < EVICT/FAIL/FINISH/KILL/LOST, the order of one lifecycle):
- status and status_raw come from the LAST event: FINISH ok, FAIL failed, KILL killed, EVICT
  evicted, LOST unknown. A job whose last event is not terminal was still pending or running at
  the end of the files: status unknown, end_ts NULL, status_raw the name of that last event
  (SUBMIT/UPDATE_PENDING = pending, SCHEDULE/UPDATE_RUNNING = running).
- submit_ts is the first SUBMIT, start_ts the first SCHEDULE, end_ts the last event's time when
  it is terminal; run_s spans every retry (first SCHEDULE to final end).
- If the first event seen is not a SUBMIT, the job's beginning lies in part files that were not
  given, so its submit_ts is NULL (and start_ts too unless the first event is a SCHEDULE).
CPU, memory and disk requests are normalized to the largest machine (unitless): they go to
`extra` (the last value given), with the task's priority, machine and retry counts.

Values are kept or rejected, never changed: every integer field must be plain whole digits
(the microsecond clock exactly, up to the 2^63-1 sentinel), an event needs its time, job id,
(task index) and event type, requests must be finite, and a time must land within the years
1..9999. A rejected event line never takes part in its job's lifecycle.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ingest.records import CSV_WITHOUT_HEADER
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    head_lines,
    require_fields,
    reshaping,
)
from ingest.sources.checks import PROBLEM, WHOLE, WHOLE64, checked_scan, micros_in_range

CITATION = (
    'Reiss, Wilkes, Hellerstein, "Google cluster-usage traces: format + schema", Google Inc., '
    "2011 (v2.1, 2014); the trace is clusterdata-2011-2."
)
JOB_COLUMNS = (
    "timestamp",
    "missing_info",
    "job_id",
    "event_type",
    "user",
    "scheduling_class",
    "job_name",
    "logical_job_name",
)
TASK_COLUMNS = (
    "timestamp",
    "missing_info",
    "job_id",
    "task_index",
    "machine_id",
    "event_type",
    "user",
    "scheduling_class",
    "priority",
    "cpu_request",
    "memory_request",
    "disk_request",
    "different_machines",
)
TYPES = {
    # Microseconds up to the 2^63-1 sentinel: plain digits, exact to the last one.
    "timestamp": WHOLE64,
    "missing_info": WHOLE,
    "job_id": WHOLE,
    "task_index": WHOLE,
    "machine_id": WHOLE,
    "event_type": WHOLE,
    "scheduling_class": WHOLE,
    "priority": WHOLE,
    "cpu_request": "DOUBLE",
    "memory_request": "DOUBLE",
    "disk_request": "DOUBLE",
    "different_machines": WHOLE,
}
JOB_EXPECTS = (
    "header-less Google 2011 job_events CSV parts (part-NNNNN-of-00500.csv.gz), 8 fields: "
    "timestamp,missing info,job ID,event type,user,scheduling class,job name,logical job name"
)
TASK_EXPECTS = (
    "header-less Google 2011 task_events CSV parts (part-NNNNN-of-00500.csv.gz), 13 fields: "
    "timestamp,missing info,job ID,task index,machine ID,event type,user,scheduling class,"
    "priority,CPU request,memory request,disk request,different-machines restriction"
)

EVENT_NAMES = (
    "SUBMIT",
    "SCHEDULE",
    "EVICT",
    "FAIL",
    "FINISH",
    "KILL",
    "LOST",
    "UPDATE_PENDING",
    "UPDATE_RUNNING",
)
OFFSET_US = 600_000_000  # timestamps count from 600 s before the trace window
AFTER_END = 2**63 - 1

_PART_NAME = re.compile(r"part-\d{5}-of-\d{5}\.csv(\.gz)?$")
_INT = re.compile(r"\d+$")
_SNIFF_LINES = 20


# ---------------------------------------------------------------- sniffing and checks


def _rows(head: bytes, n_fields: int) -> list[list[str]] | None:
    """The first lines split on commas, or None when one has another field count.

    The last line of the 64 KiB head may be cut, so it is never judged.
    """
    lines = head_lines(head, _SNIFF_LINES + 1)
    lines = lines[:-1] if len(lines) > _SNIFF_LINES or not head.endswith(b"\n") else lines
    rows = [line.split(",") for line in lines if line]
    if not rows or any(len(r) != n_fields for r in rows):
        return None
    return rows


def _name_ok(name: str, table: str) -> bool:
    return bool(_PART_NAME.search(name)) or table in name


def _small_int(text: str, high: int) -> bool:
    return bool(_INT.match(text)) and int(text) <= high


def sniff_jobs(head: bytes, name: str) -> bool:
    rows = _rows(head, len(JOB_COLUMNS))
    return (
        rows is not None
        and _name_ok(name, "job_events")
        and all(
            _INT.match(r[0]) and _INT.match(r[2]) and _small_int(r[3], 8) and r[4] for r in rows
        )
    )


def sniff_tasks(head: bytes, name: str) -> bool:
    rows = _rows(head, len(TASK_COLUMNS))
    return (
        rows is not None
        and _name_ok(name, "task_events")
        and all(
            _INT.match(r[0])
            and _INT.match(r[2])
            and _INT.match(r[3])
            and (r[4] == "" or _INT.match(r[4]))
            and _small_int(r[5], 8)
            and (r[8] == "" or _small_int(r[8], 11))
            for r in rows
        )
    )


# ---------------------------------------------------------------- SQL


def _us(raw: str) -> str:
    """Raw trace microseconds -> microseconds since the window start; sentinels -> NULL."""
    sentinel = f"{raw} = 0 OR {raw} >= {AFTER_END}"
    return f"CASE WHEN {sentinel} THEN NULL ELSE {raw}::BIGINT - {OFFSET_US} END"


# A time the lake can hold, once shifted; the two sentinels stand for "no time".
TIME_IN_RANGE = micros_in_range(
    f"CASE WHEN timestamp = 0 OR timestamp >= {AFTER_END} THEN 0 "
    f"ELSE timestamp::BIGINT - {OFFSET_US} END",
    "timestamp",
)


def _names(expr: str) -> str:
    names = ", ".join(f"'{n}'" for n in EVENT_NAMES)
    return f"coalesce([{names}][{expr} + 1], 'EVENT_' || {expr})"


_STATUS = (
    "CASE last_ev WHEN 4 THEN 'ok' WHEN 3 THEN 'failed' WHEN 5 THEN 'killed' "
    "WHEN 2 THEN 'evicted' ELSE 'unknown' END"
)
# Rank of an event among events at the same microsecond (one lifecycle's order).
_TIE = "CASE event_type WHEN 0 THEN 0 WHEN 1 THEN 1 WHEN 7 THEN 2 WHEN 8 THEN 2 ELSE 3 END"


def lifecycle_sql(scan: str, keys: Sequence[str], aggregates: str) -> str:
    """One row per `keys` with the lifecycle columns (raw µs) plus `aggregates`.

    Rejected lines (`_problem`) group apart, so they never reach a job's lifecycle."""
    key_list = ", ".join([*keys, PROBLEM])
    return f"""
    WITH events AS (
        SELECT *, {_TIE} AS tie FROM {scan}
    ), per_key AS (
        SELECT {key_list},
               arg_min(event_type, (timestamp, tie)) AS first_ev,
               arg_max(event_type, (timestamp, tie)) AS last_ev,
               max(timestamp) AS last_t,
               min(timestamp) FILTER (WHERE event_type = 0) AS first_submit,
               min(timestamp) FILTER (WHERE event_type = 1) AS first_schedule,
               arg_max(user, (timestamp, tie)) AS tenant,
               arg_max(scheduling_class, (timestamp, tie)) AS scheduling_class,
               max(missing_info) AS missing_info,
               {aggregates}
        FROM events
        GROUP BY {key_list}
    )
    SELECT *,
           CASE WHEN first_ev = 0 THEN {_us("first_submit")} END AS submit_us,
           CASE WHEN first_ev IN (0, 1) THEN {_us("first_schedule")} END AS start_us,
           CASE WHEN last_ev BETWEEN 2 AND 6 THEN {_us("last_t")} END AS end_us
    FROM per_key"""


def _final(job_id: str, lifecycle: str, extra: str) -> str:
    return f"""
    SELECT {job_id} AS job_id,
           tenant,
           make_timestamptz(submit_us) AS submit_ts,
           make_timestamptz(start_us) AS start_ts,
           make_timestamptz(end_us) AS end_ts,
           (start_us - submit_us) / 1e6 AS queue_s,
           (end_us - start_us) / 1e6 AS run_s,
           {_STATUS} AS status,
           {_names("last_ev")} AS status_raw,
           json_object({extra})::VARCHAR AS extra,
           {PROBLEM}
    FROM ({lifecycle})"""


def jobs_sql(scan: str) -> str:
    lifecycle = lifecycle_sql(
        scan,
        ["job_id"],
        "arg_max(job_name, (timestamp, tie)) AS job_name, "
        "arg_max(logical_job_name, (timestamp, tie)) AS logical_job_name",
    )
    extra = (
        "'scheduling_class', scheduling_class, 'job_name', job_name, "
        "'logical_job_name', logical_job_name, 'missing_info', missing_info"
    )
    return _final("CAST(job_id AS VARCHAR)", lifecycle, extra)


def tasks_sql(scan: str) -> str:
    lifecycle = lifecycle_sql(
        scan,
        ["job_id", "task_index"],
        """arg_max(priority, (timestamp, tie)) AS priority,
               arg_max(cpu_request, (timestamp, tie)) AS cpu_request,
               arg_max(memory_request, (timestamp, tie)) AS memory_request,
               arg_max(disk_request, (timestamp, tie)) AS disk_request,
               arg_max(different_machines, (timestamp, tie)) AS different_machines,
               arg_max(machine_id, (timestamp, tie)) FILTER (WHERE event_type = 1) AS machine_id,
               count(*) FILTER (WHERE event_type = 0) AS submits,
               count(*) FILTER (WHERE event_type = 2) AS evictions,
               count(*) FILTER (WHERE event_type = 3) AS failures,
               count(*) FILTER (WHERE event_type = 5) AS kills""",
    )
    extra = (
        "'scheduling_class', scheduling_class, 'priority', priority, "
        "'cpu_request', cpu_request, 'memory_request', memory_request, "
        "'disk_request', disk_request, 'different_machines', different_machines, "
        "'machine_id', machine_id, 'submits', submits, 'evictions', evictions, "
        "'failures', failures, 'kills', kills, 'missing_info', missing_info"
    )
    return _final("job_id || '/' || task_index", lifecycle, extra)


def _reader(
    columns: Sequence[str], expects: str, source: str, job_type: str, sql: Callable[[str], str]
) -> Callable[[Sequence[Path], ReadContext], Iterator[TableQuery]]:
    def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
        files = sorted(paths)
        for path in files:
            require_fields(path, len(columns), expects, source)
        rejects = ctx.rejects_table()
        keys = [c for c in ("timestamp", "job_id", "task_index", "event_type") if c in columns]
        # quote=None: hashed names are base64 and never quoted; a stray quote must not
        # swallow the following lines.
        scan, checks = checked_scan(
            files,
            columns,
            TYPES,
            rejects,
            header=False,
            quote=None,
            required=keys,
            checks=[TIME_IN_RANGE],
        )
        yield TableQuery(
            table="jobs",
            sql=sql(scan),
            files=tuple(files),
            **reshaping(files, columns, rejects, header=False, quote="''"),
            constants={"job_type": job_type},
            rejects=rejects,
            checks=checks,
        )

    return read


SOURCE_JOBS = Source(
    records=CSV_WITHOUT_HEADER,
    name="google_2011_jobs",
    family="datacenter",
    tables=("jobs",),
    description="Google cluster trace 2011 (Borg) job_events: one row per job with its final "
    "status from the SUBMIT/SCHEDULE/FINISH/FAIL/KILL/EVICT/LOST event stream.",
    citation=CITATION,
    expects=JOB_EXPECTS,
    time_resolution_s=1e-6,
    time_origin="relative",
    sniff=sniff_jobs,
    read=_reader(JOB_COLUMNS, JOB_EXPECTS, "google_2011_jobs", "job", jobs_sql),
    trace_name=lambda path: "google_2011_jobs",
)

SOURCE_TASKS = Source(
    records=CSV_WITHOUT_HEADER,
    name="google_2011_tasks",
    family="datacenter",
    tables=("jobs",),
    description="Google cluster trace 2011 (Borg) task_events: one row per task "
    "(job_id '<job>/<index>') with its final status; normalized requests in extra.",
    citation=CITATION,
    expects=TASK_EXPECTS,
    time_resolution_s=1e-6,
    time_origin="relative",
    sniff=sniff_tasks,
    read=_reader(TASK_COLUMNS, TASK_EXPECTS, "google_2011_tasks", "task", tasks_sql),
    trace_name=lambda path: "google_2011_tasks",
)
