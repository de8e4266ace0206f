"""Alibaba GPU-disaggregated DLRM serving trace v2025 (NSDI'25): inference instances -> jobs.

One CSV, `disaggregated_DLRM_trace.csv`, one row per inference instance of 156 services: role
CN (CPU node) or HN (heterogeneous GPU node) -> job_type, app_name -> tenant, requests
(vCPUs, GPUs, memory GiB = GB here) -> num_cpus/num_gpus/mem_gb. Limits, RDMA share (percent
of one RNIC) and disk (GiB) go to `extra` under their source names; max_instance_per_node -1
("no density limit") is written as JSON null there.

creation/scheduled/deletion times are seconds from the trace start; empty (the README's NaN)
means before the trace start or after its end, and becomes NULL. The trace has no status: all
instances are long-running services, so status is unknown.

Values are kept or rejected, never changed: a literal nan or inf (rather than an empty field)
in a time or a request is rejected with its line, as is max_instance_per_node that is not a
whole number and a row without instance_sn.
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
)
from ingest.sources.checks import PROBLEM, SIGNED, seconds_in_range, ts_from_seconds

REQUIRED = (
    "instance_sn",
    "role",
    "app_name",
    "cpu_request",
    "gpu_request",
    "memory_request",
    "creation_time",
    "scheduled_time",
    "deletion_time",
)
TYPES = {
    "cpu_request": "DOUBLE",
    "cpu_limit": "DOUBLE",
    "gpu_request": "DOUBLE",
    "gpu_limit": "DOUBLE",
    "rdma_request": "DOUBLE",
    "rdma_limit": "DOUBLE",
    "memory_request": "DOUBLE",
    "memory_limit": "DOUBLE",
    "disk_request": "DOUBLE",
    "disk_limit": "DOUBLE",
    "max_instance_per_node": SIGNED,
    "creation_time": "DOUBLE",
    "scheduled_time": "DOUBLE",
    "deletion_time": "DOUBLE",
}
EXTRA = (
    "cpu_limit",
    "gpu_limit",
    "memory_limit",
    "rdma_request",
    "rdma_limit",
    "disk_request",
    "disk_limit",
)
EXPECTS = (
    "a CSV with header instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,...,"
    "creation_time,scheduled_time,deletion_time"
)


TIMES = ("creation_time", "scheduled_time", "deletion_time")


def _ts(col: str) -> str:
    return ts_from_seconds(col)


def _seconds(start: str, end: str) -> str:
    # The times carry float noise (475.00000000000006): keep microseconds, like the timestamps.
    return f"round({end} - {start}, 6)"


def _extra(header: list[str]) -> str:
    pairs = [f"'{c}', {c}" for c in EXTRA if c in header]
    if "max_instance_per_node" in header:
        pairs.append(
            "'max_instance_per_node', "
            "CASE WHEN max_instance_per_node >= 0 THEN max_instance_per_node END"
        )
    return "json_object(" + ", ".join(pairs) + ")::VARCHAR" if pairs else "NULL"


def sniff(head: bytes, name: str) -> bool:
    return header_has(head, REQUIRED)


def _select(header: list[str], scan: str) -> str:
    return f"""
        SELECT instance_sn AS job_id, app_name AS tenant, role AS job_type,
               {_ts("creation_time")} AS submit_ts,
               {_ts("scheduled_time")} AS start_ts,
               {_ts("deletion_time")} AS end_ts,
               {_seconds("creation_time", "scheduled_time")} AS queue_s,
               {_seconds("scheduled_time", "deletion_time")} AS run_s,
               gpu_request AS num_gpus, cpu_request AS num_cpus,
               memory_request AS mem_gb,
               {_extra(header)} AS extra, {PROBLEM}
        FROM {scan}"""


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    return csv_queries(
        paths,
        ctx,
        source="alibaba_dlrm_2025",
        expects=EXPECTS,
        required=REQUIRED,
        types=TYPES,
        table="jobs",
        select=_select,
        constants={"status": "unknown"},
        keys=["instance_sn"],
        checks=[seconds_in_range(c, c) for c in TIMES],
    )


SOURCE = Source(
    records=CSV_WITH_HEADER,
    name="alibaba_dlrm_2025",
    family="datacenter",
    tables=("jobs",),
    description="Alibaba GPU-disaggregated DLRM serving 2025: inference instances on CPU and "
    "GPU nodes with resource requests and creation/scheduling/deletion times.",
    citation='Yang et al., "GPU-Disaggregated Serving for Deep Learning Recommendation Models '
    'at Scale", NSDI 2025.',
    expects=EXPECTS,
    time_resolution_s=1.0,
    time_origin="relative",
    sniff=sniff,
    columns=REQUIRED,
    read=read,
    trace_name=lambda _path: "alibaba_dlrm_2025",
)
