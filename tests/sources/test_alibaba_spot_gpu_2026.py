"""Alibaba spot-GPU trace v2026 node inventory on the real node_info_df.csv.

Expected values were read by hand with sed/awk on the raw file (line 1 is the header).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import MissingColumns
from ingest.sources import alibaba_spot_gpu_2026 as spot
from ingest.sources.base import read_head
from tests.conftest import lake_sql

NODES = "datacenter/alibaba_spot_gpu_v2026/node_info_df.csv"


def test_nodes(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(spot.SOURCE, [shared / NODES])
    assert result.trace == "alibaba_spot_gpu_2026_nodes"
    assert result.tables == {"summaries": 4278 * 2}  # 4,279 lines minus the header; 2 metrics
    assert result.rows_rejected == 0
    # Line 5: A100-SXM4-80GB,8,128,3
    node = lake_sql(
        lake_dir,
        "SELECT kind, metric, stat, value, unit FROM summaries WHERE entity = '3' ORDER BY metric",
    )
    assert node == [
        ("A100-SXM4-80GB", "cpus", "capacity", 128.0, "cores"),
        ("A100-SXM4-80GB", "gpus", "capacity", 8.0, "GPUs"),
    ]
    # awk -F, 'NR>1{g+=$2; c+=$3}': 10,412 GPUs and 632,636 vCPUs.
    totals = lake_sql(lake_dir, "SELECT metric, sum(value) FROM summaries GROUP BY 1 ORDER BY 1")
    assert totals == [("cpus", 632636.0), ("gpus", 10412.0)]
    # awk -F, 'NR>1{m[$1]++}': six GPU models (the README's "6 GPU card types").
    models = lake_sql(
        lake_dir, "SELECT kind, count(*) FROM summaries WHERE metric = 'gpus' GROUP BY 1"
    )
    assert sorted(models) == [
        ("A10", 2494),
        ("A100-SXM4-80GB", 432),
        ("A800-SXM4-80GB", 22),
        ("GPU-series-1", 989),
        ("GPU-series-2", 122),
        ("H800", 219),
    ]


def test_missing_column_is_reported(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "node_info_df.csv"
    f.write_text("gpu_model,cpu_num,node_name\nA10,128,0\n")
    with pytest.raises(MissingColumns, match="gpu_capacity_num"):
        ingest_one(spot.SOURCE, [f])


def test_sniff(shared: Path) -> None:
    path = shared / NODES
    assert spot.SOURCE.sniff(read_head(path), path.name)
    # The release's job file shares gpu_model but is another layout (README column list).
    job_head = b"job_name,organization,gpu_model,cpu_request,gpu_request,worker_num,"
    job_head += b"submit_time,duration,job_type\n239255,13,A10,20,1,1,0,2764799,HP\n"
    assert not spot.SOURCE.sniff(job_head, "job_info_df.csv")


@pytest.mark.parametrize(
    "other",
    [
        "datacenter/alibaba_gpu_v2023_openb/openb_node_list_all_node.csv",
        "datacenter/alibaba_gpu_v2025_dlrm/disaggregated_DLRM_trace.csv",
        "datacenter/alibaba_v2018_machine_prefix/machine_meta.csv",
        "datacenter/alibaba_pai_gpu_v2020/pai_machine_spec.tar.gz",
    ],
)
def test_sniff_rejects_other_samples(shared: Path, other: str) -> None:
    path = shared / other
    assert not spot.SOURCE.sniff(read_head(path), path.name)
