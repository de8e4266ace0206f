"""Acme (Shanghai AI Lab, NSDI'24): LLM-development GPU clusters Seren and Kalos.

Two formats, from InternLM/AcmeTrace:

- `data/cluster_summary.csv` -> `summaries`: one row per cluster (Seren, Kalos, and the prior
  traces Philly, Helios, PAI as the paper recomputed them): job counts, mean/median/max run and
  queue times of GPU and CPU jobs (seconds), GPUs per job, the share of jobs that completed,
  were cancelled or failed, and GPU time (GPU-seconds, and its share) by final state. Each
  statistic becomes one row, keyed by `metric`/`stat`/`kind` (gpu, cpu, all), with the CSV
  column name in `extra`. Empty cells (Philly has no CPU jobs, PAI no state shares) give no row.
- `data/job_trace/trace_{seren,kalos}.csv` -> `jobs`, README schema: `job_id, user, node_num,
  gpu_num, cpu_num, type, state, submit_time, start_time, end_time, duration, queue, gpu_time`;
  Kalos adds `mem_per_pod_GB, shared_mem_per_pod, fail_time, stop_time`. Timestamps carry a zone
  (`+08:00` in Seren, `+00:00` in Kalos) and are converted to UTC. `queue_s` and `run_s` are
  recomputed from the timestamps: the README says `duration` is end - start, but its Kalos
  example has duration = end - submit (18 s for a job that ran 8 s), so the published
  `duration`, `queue` and `gpu_time` are kept in `extra` as they are. Kalos memory is per pod;
  `mem_gb` is `mem_per_pod_GB * node_num`, assuming one pod per node (the README example, 8
  nodes with 64 GPUs and 960 CPUs, fits 8 GPUs and 120 CPUs per pod).

Values are kept or rejected, never changed: the summary's job counts must be whole numbers
(they are also the `count` of the other statistics) and every statistic a finite number;
the job traces' node, GPU and CPU counts must be whole numbers >= 0; a row without its id, a
time outside the years 1..9999 and a nan/inf duration are rejected with their line.

The job traces are not in this repository's sample set (they live on HuggingFace): the jobs
adapter is tested on a fixture written to the published schema (tests/fixtures/acme/).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from ingest.records import CSV_WITH_HEADER
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    csv_queries,
    header_has,
    require_columns,
    reshaping,
    slug,
    sql_str,
    stem,
)
from ingest.sources.checks import PROBLEM, WHOLE, checked_scan, unpivot
from ingest.sources.helios import extra_json, quote, seconds_between, slurm_status

CITATION = (
    'Hu et al., "Characterization of Large Language Model Development in the Datacenter", '
    "NSDI 2024."
)

# ---------------------------------------------------------------- cluster_summary.csv

SUMMARY_REQUIRED = ("id", "job_num", "cpu_job_num", "gpu_job_num", "avg_run_time_gpu")
SUMMARY_EXPECTS = (
    "Acme's cluster_summary.csv with header id,job_num,cpu_job_num,gpu_job_num,"
    "avg_run_time_gpu,avg_que_time_gpu,..."
)
# Acme's words for the final states; kept as metric names because Acme folds each trace's own
# states into them (Philly's Killed counts as cancel there, TIMEOUT/NODE_FAIL as fail).
_STATES = {"complete": "completed", "cancel": "cancelled", "fail": "failed"}


def _summary_stats() -> dict[str, tuple[str, str, str, str]]:
    """CSV column -> (kind, metric, stat, unit)."""
    stats = {
        "job_num": ("all", "jobs", "count", "jobs"),
        "cpu_job_num": ("cpu", "jobs", "count", "jobs"),
        "gpu_job_num": ("gpu", "jobs", "count", "jobs"),
        "avg_gpu_num": ("gpu", "num_gpus", "mean", "GPUs"),
        "med_gpu_num": ("gpu", "num_gpus", "p50", "GPUs"),
        "max_gpu": ("gpu", "num_gpus", "max", "GPUs"),
        "max_run_time_gpu": ("gpu", "run_s", "max", "s"),
    }
    for kind in ("gpu", "cpu"):
        for prefix, stat in (("avg", "mean"), ("med", "p50")):
            stats[f"{prefix}_run_time_{kind}"] = (kind, "run_s", stat, "s")
            stats[f"{prefix}_que_time_{kind}"] = (kind, "queue_s", stat, "s")
        for word, state in _STATES.items():
            stats[f"{word}_rate_{kind}"] = (kind, f"jobs_{state}", "fraction", "fraction of jobs")
    for word, state in _STATES.items():
        stats[f"{word}_gpu_time"] = ("gpu", f"gpu_time_{state}", "sum", "GPU-s")
        stats[f"{word}_rate_gpu_time"] = ("gpu", f"gpu_time_{state}", "fraction", "fraction")
    return stats


SUMMARY_STATS = _summary_stats()
SUMMARY_COUNTS = ("job_num", "cpu_job_num", "gpu_job_num")


def sniff_summary(head: bytes, name: str) -> bool:
    return header_has(head, SUMMARY_REQUIRED)


def _summary_sql(header: list[str], scan: str) -> str:
    mapping = ", ".join(
        f"({sql_str(col)}, {sql_str(kind)}, {sql_str(metric)}, {sql_str(stat)}, {sql_str(unit)})"
        for col, (kind, metric, stat, unit) in SUMMARY_STATS.items()
    )
    first = next(c for c in header if c != "id")
    stats = f"COLUMNS(* EXCLUDE (id, _n_gpu, _n_cpu, {PROBLEM}))"
    # The job counts ride along unpivoted so each statistic can say how many jobs it covers.
    return f"""
        WITH t AS (SELECT *, gpu_job_num AS _n_gpu, cpu_job_num AS _n_cpu FROM {scan}),
        u AS {unpivot("t", stats, "col", "value", first)},
        m(col, kind, metric, stat, unit) AS (VALUES {mapping})
        SELECT u.id AS entity, m.kind AS kind, coalesce(m.metric, u.col) AS metric,
               coalesce(m.stat, 'value') AS stat, u.value AS value, m.unit AS unit,
               CASE WHEN m.stat = 'count' THEN NULL
                    WHEN m.kind = 'gpu' THEN u._n_gpu WHEN m.kind = 'cpu' THEN u._n_cpu END
                   AS count,
               json_object('column', u.col)::VARCHAR AS extra, u.{PROBLEM}
        FROM u LEFT JOIN m USING (col)"""


def read_summary(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        header = require_columns(path, SUMMARY_EXPECTS, SUMMARY_REQUIRED, "acme_cluster_summary")
        # Every statistic is numeric: a stray word is a rejected line, not a text column. Job
        # counts are whole: they also become the `count` of the other statistics.
        types = {c: "VARCHAR" if c == "id" else "DOUBLE" for c in header}
        types |= {c: WHOLE for c in SUMMARY_COUNTS if c in header}
        rejects = ctx.rejects_table()
        scan, checks = checked_scan(path, header, types, rejects, required=["id"])
        yield TableQuery(
            table="summaries",
            sql=_summary_sql(header, scan),
            files=(path,),
            rejects=rejects,
            checks=checks,
            **reshaping(path, header, rejects),
        )


# ---------------------------------------------------------------- trace_{seren,kalos}.csv

JOBS_REQUIRED = (
    "job_id",
    "user",
    "node_num",
    "gpu_num",
    "cpu_num",
    "type",
    "state",
    "submit_time",
    "start_time",
    "end_time",
    "gpu_time",
)
JOBS_TYPES = {
    "job_id": "VARCHAR",
    "user": "VARCHAR",
    "node_num": WHOLE,
    "gpu_num": WHOLE,
    "cpu_num": WHOLE,
    "mem_per_pod_GB": "DOUBLE",
    "shared_mem_per_pod": "DOUBLE",
    "type": "VARCHAR",
    "state": "VARCHAR",
    "submit_time": "TIMESTAMPTZ",
    "start_time": "TIMESTAMPTZ",
    "end_time": "TIMESTAMPTZ",
    "fail_time": "TIMESTAMPTZ",
    "stop_time": "TIMESTAMPTZ",
    "duration": "DOUBLE",
    "queue": "DOUBLE",
    "gpu_time": "DOUBLE",
}
JOBS_EXPECTS = (
    "an Acme trace_seren.csv/trace_kalos.csv with header job_id,user,node_num,gpu_num,cpu_num,"
    "[mem_per_pod_GB,shared_mem_per_pod,]type,state,submit_time,start_time,end_time,...,gpu_time"
)
_EXTRA = {
    "node_num": "node_num",
    "duration": "duration",
    "queue": "queue",
    "gpu_time": "gpu_time",
    "mem_per_pod_GB": "mem_per_pod_GB",
    "shared_mem_per_pod": "shared_mem_per_pod",
    "fail_time": "fail_time",
    "stop_time": "stop_time",
}


def sniff_jobs(head: bytes, name: str) -> bool:
    return header_has(head, JOBS_REQUIRED)


def cluster(path: Path) -> str:
    """Seren or Kalos from trace_<cluster>.csv, spelled as cluster_summary.csv spells it."""
    name = stem(path).removeprefix("trace_")
    return name.capitalize() if name.lower() in ("seren", "kalos") else name


def _jobs_sql(header: list[str], scan: str) -> str:
    mem = "mem_per_pod_GB * node_num" if "mem_per_pod_GB" in header else "NULL"
    extra = _EXTRA | {c: quote(c) for c in header if c not in JOBS_TYPES}
    return f"""
        SELECT job_id, "user" AS tenant, "type" AS job_type,
               submit_time AS submit_ts, start_time AS start_ts, end_time AS end_ts,
               {seconds_between("submit_time", "start_time")} AS queue_s,
               {seconds_between("start_time", "end_time")} AS run_s,
               gpu_num AS num_gpus, cpu_num AS num_cpus, {mem} AS mem_gb,
               {slurm_status("state")} AS status, state AS status_raw,
               {extra_json(header, extra)} AS extra, {PROBLEM}
        FROM {scan}"""


def read_jobs(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    return csv_queries(
        paths,
        ctx,
        source="acme_jobs",
        expects=JOBS_EXPECTS,
        required=JOBS_REQUIRED,
        types=JOBS_TYPES,
        table="jobs",
        select=_jobs_sql,
        constants=lambda path: {"cluster": cluster(path)},
        keys=["job_id"],
    )


def jobs_trace_name(path: Path) -> str:
    return "acme_" + (slug(cluster(path)) or "jobs")


SOURCE_SUMMARY = Source(
    records=CSV_WITH_HEADER,
    name="acme_cluster_summary",
    family="datacenter",
    tables=("summaries",),
    description="Acme per-cluster summary (Seren, Kalos and, as recomputed by Acme, Philly, "
    "Helios, PAI): job counts, run/queue times (s), GPUs per job, final-state shares.",
    citation=CITATION,
    expects=SUMMARY_EXPECTS,
    time_resolution_s=None,
    time_origin="absolute",
    sniff=sniff_summary,
    columns=SUMMARY_REQUIRED,
    read=read_summary,
    trace_name=lambda path: "acme_cluster_summary",
)

SOURCE_JOBS = Source(
    records=CSV_WITH_HEADER,
    name="acme_jobs",
    family="datacenter",
    tables=("jobs",),
    description="Acme (Seren, Kalos) LLM-development GPU jobs: GPUs, CPUs, memory, workload "
    "type, final state, queue and run times; one trace per cluster.",
    citation=CITATION,
    expects=JOBS_EXPECTS,
    time_resolution_s=1.0,
    time_origin="absolute",
    sniff=sniff_jobs,
    columns=JOBS_REQUIRED,
    read=read_jobs,
    trace_name=jobs_trace_name,
    fixture_only=True,
)
