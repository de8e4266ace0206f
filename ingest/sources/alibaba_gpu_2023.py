"""Alibaba GPU-sharing cluster trace v2023 "openb" (Beware of Fragmentation, ATC'23).

Two CSV layouts with headers:
- pod lists `openb_pod_list_<variant>.csv` (`default` is the full 8,152-pod trace; the other
  variants are samples or augmentations of it) -> jobs, one row per pod;
- node lists `openb_node_list_<variant>.csv` -> summaries: capacity per node (cpus, mem_gb,
  gpus), kind = GPU model (NULL on CPU-only nodes).

Units: cpu_milli is 1/1000 of a core, memory_mib MiB (/1024 -> GB). GPUs follow the dataset
README: `gpu_milli` is the share of one GPU a GPU-sharing pod asks for and is meaningful only
when num_gpu == 1, so num_gpus = gpu_milli/1000 for num_gpu == 1 and num_gpu otherwise (in the
default list every num_gpu > 1 pod has gpu_milli 1000, so this equals num_gpu*gpu_milli/1000).
Times are seconds from the trace start: creation -> submit, scheduled -> start (empty for
Pending pods), deletion -> end. pod_phase is the last phase seen: Succeeded ok, Failed failed,
Running and Pending unknown (a Running pod's deletion_time is where the trace stops watching).

Values are kept or rejected, never changed: CPU, memory and GPU figures must be whole numbers
>= 0 (12.5 millicores is rejected with its line, not rounded); a literal nan/inf time, a time
outside the years 1..9999, and a pod without a name or a node without an sn are rejected too.
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
    slug,
    stem,
)
from ingest.sources.checks import PROBLEM, WHOLE, seconds_in_range, ts_from_seconds

CITATION = (
    'Weng et al., "Beware of Fragmentation: Scheduling GPU-Sharing Workloads with '
    'Fragmentation Gradient Descent", USENIX ATC 2023.'
)

POD_COLUMNS = (
    "name",
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_spec",
    "qos",
    "pod_phase",
    "creation_time",
    "deletion_time",
    "scheduled_time",
)
POD_TYPES = {
    "cpu_milli": WHOLE,
    "memory_mib": WHOLE,
    "num_gpu": WHOLE,
    "gpu_milli": WHOLE,
    "creation_time": "DOUBLE",
    "deletion_time": "DOUBLE",
    "scheduled_time": "DOUBLE",
}
POD_EXPECTS = (
    "a CSV with header name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    "creation_time,deletion_time,scheduled_time"
)

NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
NODE_TYPES = {"cpu_milli": WHOLE, "memory_mib": WHOLE, "gpu": WHOLE}
POD_TIMES = ("creation_time", "deletion_time", "scheduled_time")
NODE_EXPECTS = "a CSV with header sn,cpu_milli,memory_mib,gpu,model"


def _ts(col: str) -> str:
    return ts_from_seconds(col)


def sniff_pods(head: bytes, name: str) -> bool:
    return header_has(head, POD_COLUMNS)


def sniff_nodes(head: bytes, name: str) -> bool:
    return header_has(head, NODE_COLUMNS)


def _select_pods(header: list[str], scan: str) -> str:
    return f"""
        SELECT name AS job_id, qos AS job_type,
               {_ts("creation_time")} AS submit_ts,
               {_ts("scheduled_time")} AS start_ts,
               {_ts("deletion_time")} AS end_ts,
               scheduled_time - creation_time AS queue_s,
               deletion_time - scheduled_time AS run_s,
               CASE WHEN num_gpu = 1 THEN gpu_milli / 1000 ELSE num_gpu END AS num_gpus,
               cpu_milli / 1000 AS num_cpus,
               memory_mib / 1024 AS mem_gb,
               CASE pod_phase WHEN 'Succeeded' THEN 'ok' WHEN 'Failed' THEN 'failed'
                    ELSE 'unknown' END AS status,
               pod_phase AS status_raw,
               json_object('num_gpu', num_gpu, 'gpu_milli', gpu_milli,
                           'gpu_spec', gpu_spec)::VARCHAR AS extra,
               {PROBLEM}
        FROM {scan}"""


def _select_nodes(header: list[str], scan: str) -> str:
    return f"""
        SELECT s.sn AS entity, s.model AS kind, m.metric,
               CASE m.metric WHEN 'cpus' THEN s.cpu_milli / 1000
                             WHEN 'mem_gb' THEN s.memory_mib / 1024
                             ELSE s.gpu END AS value,
               m.unit, s.{PROBLEM}
        FROM {scan} s
        CROSS JOIN (VALUES ('cpus', 'cores'), ('mem_gb', 'GB'), ('gpus', 'GPUs'))
             m(metric, unit)
        -- A rejected line stays one row (the lake drops it), not one per metric.
        WHERE s.{PROBLEM} IS NULL OR m.metric = 'cpus'"""


def read_pods(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    return csv_queries(
        paths,
        ctx,
        source="alibaba_gpu_2023_pods",
        expects=POD_EXPECTS,
        required=POD_COLUMNS,
        types=POD_TYPES,
        table="jobs",
        select=_select_pods,
        keys=["name"],
        checks=[seconds_in_range(c, c) for c in POD_TIMES],
    )


def read_nodes(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    return csv_queries(
        paths,
        ctx,
        source="alibaba_gpu_2023_nodes",
        expects=NODE_EXPECTS,
        required=NODE_COLUMNS,
        types=NODE_TYPES,
        table="summaries",
        select=_select_nodes,
        constants={"stat": "capacity"},
        reshapes=True,  # one row per capacity metric of a node
        keys=["sn"],
    )


def _variant(path: Path, prefix: str) -> str:
    name = slug(stem(path))
    return name.removeprefix(prefix) or "default"


def pods_trace_name(path: Path) -> str:
    return "alibaba_gpu_2023_pods_" + _variant(path, "openb_pod_list_")


def nodes_trace_name(path: Path) -> str:
    return "alibaba_gpu_2023_nodes_" + _variant(path, "openb_node_list_")


SOURCE_PODS = Source(
    records=CSV_WITH_HEADER,
    name="alibaba_gpu_2023_pods",
    family="datacenter",
    tables=("jobs",),
    description="Alibaba openb GPU-sharing cluster 2023: pods with fractional-GPU, CPU and "
    "memory requests, QoS class, creation/scheduling/deletion times and last phase.",
    citation=CITATION,
    expects=POD_EXPECTS,
    time_resolution_s=1.0,
    time_origin="relative",
    sniff=sniff_pods,
    columns=POD_COLUMNS,
    read=read_pods,
    trace_name=pods_trace_name,
)

SOURCE_NODES = Source(
    records=CSV_WITH_HEADER,
    name="alibaba_gpu_2023_nodes",
    family="datacenter",
    tables=("summaries",),
    description="Alibaba openb GPU-sharing cluster 2023: CPU, memory and GPU capacity and "
    "GPU model of each node.",
    citation=CITATION,
    expects=NODE_EXPECTS,
    time_resolution_s=None,
    time_origin="none",
    sniff=sniff_nodes,
    columns=NODE_COLUMNS,
    read=read_nodes,
    trace_name=nodes_trace_name,
)
