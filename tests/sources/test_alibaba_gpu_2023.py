"""Alibaba openb GPU-sharing trace v2023 on the real pod and node lists.

Expected values were read by hand with sed/awk on the raw CSVs; the line read is quoted beside
each assertion (line 1 is the header).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import MissingColumns
from ingest.sources import alibaba_gpu_2023 as openb
from ingest.sources.base import read_head
from tests.conftest import lake_sql

DIR = "datacenter/alibaba_gpu_v2023_openb"
PODS = f"{DIR}/openb_pod_list_default.csv"
NODES = f"{DIR}/openb_node_list_all_node.csv"


def _pod(lake_dir: Path, name: str) -> tuple[object, ...]:
    rows = lake_sql(
        lake_dir,
        "SELECT job_type, epoch(submit_ts), epoch(start_ts), epoch(end_ts), queue_s, run_s, "
        "num_gpus, num_cpus, mem_gb, status, status_raw FROM jobs "
        f"WHERE job_id = '{name}'",
    )
    assert len(rows) == 1
    return rows[0]


def test_pods(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(openb.SOURCE_PODS, [shared / PODS])
    assert result.trace == "alibaba_gpu_2023_pods_default"
    assert result.tables == {"jobs": 8152}  # 8,153 lines minus the header
    assert result.rows_rejected == 0
    # Line 3: openb-pod-0001,6000,12288,1,460,,LS,Running,427061,12902960,427061
    assert _pod(lake_dir, "openb-pod-0001") == (
        "LS", 427061.0, 427061.0, 12902960.0, 0.0, 12475899.0, 0.46, 6.0, 12.0,
        "unknown", "Running",
    )  # fmt: skip
    # Line 19: openb-pod-0017,88000,327680,8,1000,,Burstable,Succeeded,9437497,10769854,9437497
    assert _pod(lake_dir, "openb-pod-0017") == (
        "Burstable", 9437497.0, 9437497.0, 10769854.0, 0.0, 1332357.0, 8.0, 88.0, 320.0,
        "ok", "Succeeded",
    )  # fmt: skip
    # Line 63: openb-pod-0061,11908,47104,1,1000,,BE,Pending,10001278,10001403,  (never scheduled)
    assert _pod(lake_dir, "openb-pod-0061") == (
        "BE", 10001278.0, None, 10001403.0, None, None, 1.0, 11.908, 46.0,
        "unknown", "Pending",
    )  # fmt: skip
    # Line 35: openb-pod-0033,3152,5600,1,1000,,BE,Failed,9965463,9965645,9965463
    assert _pod(lake_dir, "openb-pod-0033")[9:] == ("failed", "Failed")
    # Line 7: openb-pod-0005,20000,65536,0,0,,LS,Running,... a CPU-only pod asks for 0 GPUs.
    assert _pod(lake_dir, "openb-pod-0005")[6] == 0.0
    # awk -F, '{print $8}' | sort | uniq -c
    phases = lake_sql(lake_dir, "SELECT status_raw, status, count(*) FROM jobs GROUP BY ALL")
    assert sorted(phases) == [
        ("Failed", "failed", 1870),
        ("Pending", "unknown", 897),
        ("Running", "unknown", 5193),
        ("Succeeded", "ok", 192),
    ]
    # awk: sum of (num_gpu == 1 ? gpu_milli/1000 : num_gpu) over all pods = 6086.8
    assert lake_sql(lake_dir, "SELECT round(sum(num_gpus), 3) FROM jobs") == [(6086.8,)]
    extra = lake_sql(
        lake_dir,
        "SELECT extra->>'num_gpu', extra->>'gpu_milli', extra->>'gpu_spec' FROM jobs "
        "WHERE job_id = 'openb-pod-0001'",
    )
    assert extra == [("1", "460", None)]


def test_nodes(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(openb.SOURCE_NODES, [shared / NODES])
    assert result.trace == "alibaba_gpu_2023_nodes_all_node"
    assert result.tables == {"summaries": 1523 * 3}  # 1,524 lines minus the header
    # Line 230: openb-node-0228,128000,786432,8,G3
    node = lake_sql(
        lake_dir,
        "SELECT kind, metric, stat, value, unit FROM summaries "
        "WHERE entity = 'openb-node-0228' ORDER BY metric",
    )
    assert node == [
        ("G3", "cpus", "capacity", 128.0, "cores"),
        ("G3", "gpus", "capacity", 8.0, "GPUs"),
        ("G3", "mem_gb", "capacity", 768.0, "GB"),
    ]
    # Line 2: openb-node-0000,32000,262144,0,  -> a CPU-only node has no GPU model.
    assert lake_sql(
        lake_dir, "SELECT kind, value FROM summaries WHERE entity = 'openb-node-0000' "
        "AND metric = 'gpus'"
    ) == [(None, 0.0)]  # fmt: skip
    # awk -F, 'NR>1{g+=$4}': 6212 GPUs in the cluster.
    assert lake_sql(lake_dir, "SELECT sum(value) FROM summaries WHERE metric = 'gpus'") == [
        (6212.0,)
    ]


def test_missing_column_is_reported(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "openb_pod_list_broken.csv"
    f.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli\nopenb-pod-0000,1000,1024,1,500\n")
    with pytest.raises(MissingColumns, match="pod_phase"):
        ingest_one(openb.SOURCE_PODS, [f])


def test_negative_request_is_rejected_with_its_line(
    shared: Path, tmp_path: Path, lake_dir: Path, ingest_one
) -> None:
    lines = (shared / PODS).read_text().splitlines()[:6]
    lines[3] = lines[3].replace(",12000,24576,", ",-12000,24576,")
    f = tmp_path / "openb_pod_list_edited.csv"
    f.write_text("\n".join(lines) + "\n")
    result = ingest_one(openb.SOURCE_PODS, [f], max_rejected=1)
    assert result.tables == {"jobs": 4}
    assert result.problems == {"negative-count": 1}
    assert "line 4" in result.examples[0]


def test_sniff_own_files(shared: Path) -> None:
    pods, nodes = shared / PODS, shared / NODES
    assert openb.SOURCE_PODS.sniff(read_head(pods), pods.name)
    assert not openb.SOURCE_NODES.sniff(read_head(pods), pods.name)
    assert openb.SOURCE_NODES.sniff(read_head(nodes), nodes.name)
    assert not openb.SOURCE_PODS.sniff(read_head(nodes), nodes.name)


@pytest.mark.parametrize(
    "other",
    [
        "datacenter/alibaba_gpu_v2025_dlrm/disaggregated_DLRM_trace.csv",
        "datacenter/alibaba_spot_gpu_v2026/node_info_df.csv",
        "datacenter/alibaba_v2017_batch_task/batch_task.csv",
        "datacenter/alibaba_pai_gpu_v2020/pai_machine_spec.tar.gz",
        "datacenter/acme_trace/cluster_summary.csv",
        "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
    ],
)
def test_sniff_rejects_other_samples(shared: Path, other: str) -> None:
    path = shared / other
    head = read_head(path)
    assert not openb.SOURCE_PODS.sniff(head, path.name)
    assert not openb.SOURCE_NODES.sniff(head, path.name)
