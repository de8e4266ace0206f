"""Helios (SenseTime, SC'21): Slurm job logs of four GPU clusters, one `cluster_log.csv` each.

Published layout (S-Lab-System-Group/HeliosData README): `data/<Cluster>/cluster_log.csv` with
`job_id,user,vc,gpu_num,cpu_num,node_num,state,submit_time,start_time,end_time,duration,queue`.
Clusters: Earth, Saturn, Uranus, Venus. Times are zone-less wall clock (`2020-06-09 18:41:01`);
the README does not name the zone (the clusters are in China, probably UTC+8), so they are
stored as written, as if UTC; a value that does carry a zone (`+08:00`) is converted to UTC
exactly. Durations are recomputed from the timestamps (1 s resolution), falling back to the
published `duration`/`queue` (seconds) when a timestamp is missing.

Values are kept or rejected, never changed: GPU, CPU and node counts must be whole numbers
>= 0 (a fractional count is rejected with its line, not rounded); a row without job_id, a
time outside the years 1..9999 and a nan/inf duration are rejected too.

`state` is Slurm's: COMPLETED, CANCELLED, FAILED, TIMEOUT, NODE_FAIL (the README counts the last
two as failures; here TIMEOUT keeps its own status) and one SUSPENDED in Uranus (unknown).

No real rows are available in this repository's sample set: the adapter is tested on a fixture
written to the published schema (tests/fixtures/helios/).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from ingest.records import CSV_WITH_HEADER
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    csv_header,
    csv_queries,
    header_has,
    slug,
    sql_str,
    stem,
)
from ingest.sources.checks import PROBLEM, WHOLE

REQUIRED = (
    "job_id",
    "user",
    "gpu_num",
    "cpu_num",
    "node_num",
    "state",
    "submit_time",
    "start_time",
    "end_time",
)
TYPES = {
    "job_id": "VARCHAR",
    "user": "VARCHAR",
    "vc": "VARCHAR",
    "gpu_num": WHOLE,
    "cpu_num": WHOLE,
    "node_num": WHOLE,
    "state": "VARCHAR",
    # TIMESTAMPTZ: a zone-less time is UTC, a zoned one is converted (TIMESTAMP drops it).
    "submit_time": "TIMESTAMPTZ",
    "start_time": "TIMESTAMPTZ",
    "end_time": "TIMESTAMPTZ",
    "duration": "DOUBLE",
    "queue": "DOUBLE",
}
EXPECTS = (
    "a Helios cluster_log.csv with header job_id,user,vc,gpu_num,cpu_num,node_num,state,"
    "submit_time,start_time,end_time,duration,queue"
)
# Columns that only the Acme job traces have: they tell the two Slurm-like formats apart.
ACME_ONLY = ("gpu_time", "type")


def slurm_status(column: str) -> str:
    """SQL mapping a Slurm job state (as Helios and Acme write it) to the status enum."""
    state = f"upper(trim({column}))"
    # sacct writes "CANCELLED by <uid>" for jobs a user cancelled.
    return f"""CASE
        WHEN {state} = 'COMPLETED' THEN 'ok'
        WHEN {state} LIKE 'CANCELLED%' THEN 'cancelled'
        WHEN {state} IN ('FAILED', 'NODE_FAIL', 'BOOT_FAIL', 'OUT_OF_MEMORY') THEN 'failed'
        WHEN {state} IN ('TIMEOUT', 'DEADLINE') THEN 'timeout'
        WHEN {state} = 'PREEMPTED' THEN 'evicted'
        ELSE 'unknown' END"""


def seconds_between(start: str, end: str) -> str:
    """SQL for `end - start` in float seconds (works for TIMESTAMP and TIMESTAMPTZ)."""
    return f"(epoch_us({end}) - epoch_us({start})) / 1e6"


def quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def extra_json(header: Sequence[str], fields: dict[str, str]) -> str:
    """A json_object(...) of the named fields that the header has, NULL when none."""
    pairs = [f"{sql_str(key)}, {expr}" for key, expr in fields.items() if key in header]
    return "NULL" if not pairs else f"json_object({', '.join(pairs)})::VARCHAR"


def sniff(head: bytes, name: str) -> bool:
    header = csv_header(head)
    return header_has(head, REQUIRED) and not any(c in header for c in ACME_ONLY)


def cluster(path: Path) -> str:
    """The cluster a log belongs to: its folder (data/Venus/cluster_log.csv), else its name."""
    name = stem(path)
    if name == "cluster_log" and path.parent.name:
        return path.parent.name
    return name.removesuffix("_cluster_log") or name


def _sql(header: list[str], scan: str) -> str:
    queue = "queue" if "queue" in header else "NULL"
    duration = "duration" if "duration" in header else "NULL"
    known = {"vc": "vc", "node_num": "node_num"}
    known |= {c: quote(c) for c in header if c not in TYPES}
    return f"""
        SELECT job_id, "user" AS tenant,
               submit_time AS submit_ts, start_time AS start_ts, end_time AS end_ts,
               coalesce({seconds_between("submit_time", "start_time")}, {queue}) AS queue_s,
               coalesce({seconds_between("start_time", "end_time")}, {duration}) AS run_s,
               gpu_num AS num_gpus, cpu_num AS num_cpus,
               {slurm_status("state")} AS status, state AS status_raw,
               {extra_json(header, known)} AS extra, {PROBLEM}
        FROM {scan}"""


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    return csv_queries(
        paths,
        ctx,
        source="helios",
        expects=EXPECTS,
        required=REQUIRED,
        types=TYPES,
        table="jobs",
        select=_sql,
        constants=lambda path: {"cluster": cluster(path)},
        keys=["job_id"],
    )


def trace_name(path: Path) -> str:
    return "helios_" + (slug(cluster(path)) or "cluster")


SOURCE = Source(
    records=CSV_WITH_HEADER,
    name="helios",
    family="datacenter",
    tables=("jobs",),
    description="Helios (SenseTime) GPU cluster job logs: GPUs, CPUs, nodes, Slurm final state, "
    "queue and run times; one trace per cluster.",
    citation='Hu et al., "Characterization and Prediction of Deep Learning Workloads in '
    'Large-Scale GPU Datacenters", SC 2021.',
    expects=EXPECTS,
    time_resolution_s=1.0,
    time_origin="absolute",
    sniff=sniff,
    columns=REQUIRED,
    read=read,
    trace_name=trace_name,
    fixture_only=True,
)
