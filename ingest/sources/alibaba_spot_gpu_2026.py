"""Alibaba spot-GPU cluster trace v2026 (GFS, ASPLOS'26): the node inventory -> summaries.

`node_info_df.csv` lists 4,278 GPU nodes: gpu_model (A10, A100-SXM4-80GB, H800, or the
undisclosed GPU-series-N) -> kind, gpu_capacity_num -> metric gpus, cpu_num (vCPUs) -> metric
cpus, node_name (a number) -> entity. One summaries row per node and metric, stat = capacity.
The release's job file (job_info_df.csv, HP and Spot jobs) is another layout, not read here.

Values are kept or rejected, never changed: GPU and CPU counts must be whole numbers >= 0, a
row needs its node_name, and a copy of the header line inside the data is rejected (every
column is read as text here, so nothing else would catch it).
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
from ingest.sources.checks import PROBLEM, WHOLE

COLUMNS = ("gpu_model", "gpu_capacity_num", "cpu_num", "node_name")
TYPES = {"gpu_capacity_num": WHOLE, "cpu_num": WHOLE, "node_name": "VARCHAR"}
EXPECTS = "a CSV with header gpu_model,gpu_capacity_num,cpu_num,node_name"


def sniff(head: bytes, name: str) -> bool:
    return header_has(head, COLUMNS)


def _select(header: list[str], scan: str) -> str:
    return f"""
        SELECT s.node_name AS entity, s.gpu_model AS kind, m.metric,
               CASE m.metric WHEN 'gpus' THEN s.gpu_capacity_num ELSE s.cpu_num END AS value,
               m.unit, s.{PROBLEM}
        FROM {scan} s
        CROSS JOIN (VALUES ('gpus', 'GPUs'), ('cpus', 'cores')) m(metric, unit)
        -- A rejected line stays one row (the lake drops it), not one per metric.
        WHERE s.{PROBLEM} IS NULL OR m.metric = 'gpus'"""


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    return csv_queries(
        paths,
        ctx,
        source="alibaba_spot_gpu_2026",
        expects=EXPECTS,
        required=COLUMNS,
        types=TYPES,
        table="summaries",
        select=_select,
        constants={"stat": "capacity"},
        reshapes=True,  # one row per capacity metric of a node
        keys=["node_name"],
    )


SOURCE = Source(
    records=CSV_WITH_HEADER,
    name="alibaba_spot_gpu_2026",
    family="datacenter",
    tables=("summaries",),
    description="Alibaba spot-GPU cluster 2026: GPU model, GPU count and vCPUs of each of "
    "4,278 GPU nodes.",
    citation='Duan et al., "GFS: A Preemptive Scheduling Framework for GPU Clusters with '
    'Predictive Spot Management", ASPLOS 2026.',
    expects=EXPECTS,
    time_resolution_s=None,
    time_origin="none",
    sniff=sniff,
    columns=COLUMNS,
    read=read,
    trace_name=lambda _path: "alibaba_spot_gpu_2026_nodes",
)
