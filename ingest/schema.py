"""The canonical tables, defined once.

Every adapter writes these Arrow schemas and nothing else; every analysis reads them. The docs
table in docs/schema.md is generated from this module (`python -m ingest.schema > docs/schema.md`)
and a test fails when the two disagree.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pyarrow as pa

SCHEMA_VERSION = "1"

# One status vocabulary for every failure encoding (Google's FAIL/KILL/EVICT, SWF's 0/1/5,
# BurstGPT's zero-token responses, ...). The source's own value is kept in `status_raw`.
STATUSES: tuple[str, ...] = ("ok", "failed", "cancelled", "timeout", "killed", "evicted", "unknown")

# `ok` is a recorded success, never a default: the rule docs/schema.md states for every source.
STATUS_RULE = (
    "`ok` means the source recorded a success: a source whose files record no outcome "
    "(Azure LLM 2023/2024, Mooncake, Vidur, Azure Functions 2021, ...) writes `unknown`, never "
    "`ok`, and failure ratios are taken over the rows whose status is known."
)

TS = pa.timestamp("us", tz="UTC")

# Parquet key-value metadata written into every lake file.
META_SCHEMA_VERSION = "workload_traces.schema_version"
META_TABLE = "workload_traces.table"
META_TRACE = "workload_traces.trace"


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    doc: str
    unit: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    shape: str  # events | series | summaries
    doc: str
    columns: tuple[Column, ...]

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.type) for c in self.columns],
            metadata={META_SCHEMA_VERSION: SCHEMA_VERSION, META_TABLE: self.name},
        )

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(name: str, type_: pa.DataType, doc: str, unit: str = "") -> Column:
    return Column(name, type_, doc, unit)


_TRACE = _c("trace", pa.string(), "Trace name; also the `trace=` partition of the lake.")
_STATUS = _c("status", pa.string(), "One of: " + ", ".join(STATUSES) + ".")
_STATUS_RAW = _c("status_raw", pa.string(), "The source's own status value, unchanged.")
_EXTRA = _c("extra", pa.string(), "Source-specific fields as a JSON object, NULL when none.")

REQUESTS = Table(
    "requests",
    "events",
    "One row per LLM request or function invocation.",
    (
        _TRACE,
        _c("ts", TS, "Arrival time (UTC; relative traces are anchored at 1970-01-01).", "µs"),
        _c("service", pa.string(), "Model or function the request was sent to."),
        _c("tenant", pa.string(), "User, application or client that sent it."),
        _c("session", pa.string(), "Conversation or session id."),
        _c("kind", pa.string(), "Request kind: conversation/api/code, trigger type, ..."),
        _c("input_tokens", pa.int64(), "Prompt (context) tokens.", "tokens"),
        _c("output_tokens", pa.int64(), "Generated tokens.", "tokens"),
        _c("duration_s", pa.float64(), "Execution or end-to-end time.", "s"),
        _STATUS,
        _STATUS_RAW,
        _c("cold_start", pa.bool_(), "True when the invocation hit a cold start."),
        _c(
            "hash_ids",
            pa.list_(pa.int64()),
            "Prefix block hashes (Mooncake); equal ids are reusable KV-cache blocks.",
        ),
        _c("hash_block_tokens", pa.int32(), "Tokens per block behind `hash_ids`.", "tokens"),
        _EXTRA,
    ),
)

JOBS = Table(
    "jobs",
    "events",
    "One row per batch job, task, pod or GPU job, with its final status.",
    (
        _TRACE,
        _c("job_id", pa.string(), "Job (or task, pod) id."),
        _c("tenant", pa.string(), "User, group or virtual cluster."),
        _c("job_type", pa.string(), "Job type or workload class."),
        _c("cluster", pa.string(), "Cluster or partition the job ran in."),
        _c("submit_ts", TS, "Submission time.", "µs"),
        _c("start_ts", TS, "Start of execution.", "µs"),
        _c("end_ts", TS, "End of execution.", "µs"),
        _c("queue_s", pa.float64(), "Time from submission to start.", "s"),
        _c("run_s", pa.float64(), "Time from start to end.", "s"),
        _c("num_gpus", pa.float64(), "GPUs requested (fractional for shared GPUs).", "GPUs"),
        _c("num_cpus", pa.float64(), "CPU cores requested.", "cores"),
        _c("mem_gb", pa.float64(), "Memory requested (1 GB = 1024 MiB, as traces count).", "GB"),
        _STATUS,
        _STATUS_RAW,
        _EXTRA,
    ),
)

COLD_STARTS = Table(
    "cold_starts",
    "events",
    "One row per recorded cold start, with its phase breakdown.",
    (
        _TRACE,
        _c("ts", TS, "When the cold start began.", "µs"),
        _c("service", pa.string(), "Function."),
        _c("tenant", pa.string(), "Owner or application."),
        _c("region", pa.string(), "Region or cluster."),
        _c("runtime", pa.string(), "Language runtime."),
        _c("trigger", pa.string(), "Trigger type."),
        _c("pod_id", pa.string(), "Pod or instance that was started."),
        _c("total_s", pa.float64(), "Whole cold-start time.", "s"),
        _c("pod_alloc_s", pa.float64(), "Pod allocation.", "s"),
        _c("code_deploy_s", pa.float64(), "Code deployment.", "s"),
        _c("deps_deploy_s", pa.float64(), "Dependency deployment.", "s"),
        _c("scheduling_s", pa.float64(), "Scheduling delay.", "s"),
        _EXTRA,
    ),
)

SERIES = Table(
    "series",
    "series",
    "Per-interval counts or utilization, long format: one row per entity, metric and interval.",
    (
        _TRACE,
        _c("ts", TS, "Start of the interval.", "µs"),
        _c("interval_s", pa.float64(), "Interval length.", "s"),
        _c("entity", pa.string(), "What is measured: function, machine, node, client."),
        _c("service", pa.string(), "Application or service the entity belongs to."),
        _c("tenant", pa.string(), "Owner."),
        _c("kind", pa.string(), "Trigger type, machine class, ..."),
        _c("metric", pa.string(), "Metric name, e.g. invocations, cpu_util."),
        _c("value", pa.float64(), "Metric value in `unit`."),
        _c("unit", pa.string(), "Unit of `value`."),
        _EXTRA,
    ),
)

MEASUREMENTS = Table(
    "measurements",
    "series",
    "Repeated benchmark runs per VM, machine or worker.",
    (
        _TRACE,
        _c("ts", TS, "When the run happened, NULL when unknown.", "µs"),
        _c("subject", pa.string(), "VM, machine or worker that was measured."),
        _c("benchmark", pa.string(), "Benchmark suite and test."),
        _c("metric", pa.string(), "What the value measures."),
        _c("value", pa.float64(), "Measured value in `unit`."),
        _c("unit", pa.string(), "Unit of `value`."),
        _c("run", pa.int64(), "Run number within the subject."),
        _c("sku", pa.string(), "VM size or machine type."),
        _c("region", pa.string(), "Region."),
        _c("lifespan", pa.string(), "VM lifespan class (short, long)."),
        _EXTRA,
    ),
)

SUMMARIES = Table(
    "summaries",
    "summaries",
    "Published statistics (percentiles, means, counts) for traces released only as summaries.",
    (
        _TRACE,
        _c("entity", pa.string(), "Function, client or cluster the statistic describes."),
        _c("service", pa.string(), "Application or service."),
        _c("tenant", pa.string(), "Owner."),
        _c("kind", pa.string(), "Trigger type, workload class, ..."),
        _c("metric", pa.string(), "Quantity summarized, e.g. duration_s, memory_mb."),
        _c("stat", pa.string(), "Statistic: mean, min, max, count, p50, p99, ..."),
        _c("value", pa.float64(), "Value of the statistic in `unit`."),
        _c("unit", pa.string(), "Unit of `value`."),
        _c("count", pa.int64(), "Samples behind the statistic."),
        _EXTRA,
    ),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (REQUESTS, JOBS, COLD_STARTS, SERIES, MEASUREMENTS, SUMMARIES)
}

# Rules every written row must satisfy, as DuckDB predicates that are TRUE for a bad row.
# Checked on staged data before a trace is committed; violating rows go to `_rejected`.
INVARIANTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "requests": (
        ("negative-token-count", "input_tokens < 0 OR output_tokens < 0", "token counts >= 0"),
        ("negative-duration", "duration_s < 0", "duration_s >= 0"),
    ),
    "jobs": (
        ("negative-duration", "queue_s < 0 OR run_s < 0", "queue_s and run_s >= 0"),
        ("missing-id", "job_id IS NULL", "every job has a job_id"),
    ),
    "cold_starts": (("negative-duration", "total_s < 0", "total_s >= 0"),),
    "series": (("missing-metric", "metric IS NULL", "every series row names its metric"),),
    "measurements": (("missing-metric", "metric IS NULL", "every measurement names its metric"),),
    "summaries": (("missing-stat", "stat IS NULL", "every summary row names its statistic"),),
}
for _table in TABLES.values():
    if "status" in _table.column_names:
        _in = ", ".join(f"'{s}'" for s in STATUSES)
        INVARIANTS[_table.name] += (
            ("unknown-status", f"status NOT IN ({_in})", "status is one of the enum"),
        )

# Values the lake cannot hold (Python's datetime, so `traces info` and the dashboard, stops at
# year 9999) or that no analysis should meet (nan, infinity). The sources reject them first,
# with their line (ingest/sources/checks.py); these rules are the last line of defence.
_FIRST_TS = "TIMESTAMPTZ '0001-01-01 00:00:00+00'"
_LAST_TS = "TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'"
MAX_ABS_NUMBER = 1e18

for _table in TABLES.values():
    _times = [c.name for c in _table.columns if c.type == TS]
    _floats = [c.name for c in _table.columns if c.type == pa.float64()]
    if _times:
        _out = " OR ".join(
            f"NOT isfinite({c}) OR {c} NOT BETWEEN {_FIRST_TS} AND {_LAST_TS}" for c in _times
        )
        INVARIANTS[_table.name] += (
            ("out-of-range-timestamp", _out, "times lie within the years 1 to 9999"),
        )
    if _floats:
        _nan = " OR ".join(f"NOT isfinite({c})" for c in _floats)
        INVARIANTS[_table.name] += (("non-finite-number", _nan, "numbers are finite"),)
        # Past 1e18 no measured quantity of these traces is meaningful, and the analyses'
        # exact sums (DECIMAL(38, 18)) hold less than 1e20: such a value would break the
        # report of every trace, so it is rejected here, with its row.
        _huge = " OR ".join(f"abs({c}) >= {MAX_ABS_NUMBER:.0e}" for c in _floats)
        INVARIANTS[_table.name] += (
            ("out-of-range-number", _huge, f"numbers are below {MAX_ABS_NUMBER:.0e} in size"),
        )


def _type_name(t: pa.DataType) -> str:
    if t == TS:
        return "timestamp[us, UTC]"
    return str(t)


def docs_markdown() -> str:
    """The schema as Markdown: the single source of docs/schema.md."""
    lines = [
        "# Canonical schema",
        "",
        f"Schema version **{SCHEMA_VERSION}**, generated from `ingest/schema.py` by "
        "`python -m ingest.schema > docs/schema.md`; a test fails when they disagree.",
        "",
        "Rules: timestamps are UTC; durations are float seconds; token counts are integers; "
        "unknown is NULL, never -1; `status` is one of "
        + ", ".join(f"`{s}`" for s in STATUSES)
        + ", with the source's value in `status_raw`. "
        + STATUS_RULE,
        "",
    ]
    for table in TABLES.values():
        lines += [f"## `{table.name}` ({table.shape})", "", table.doc, ""]
        lines += ["| column | type | unit | meaning |", "|---|---|---|---|"]
        for c in table.columns:
            lines.append(f"| `{c.name}` | {_type_name(c.type)} | {c.unit} | {c.doc} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(docs_markdown())
