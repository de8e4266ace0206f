"""Alibaba GPU-disaggregated DLRM trace v2025 on the real file.

Expected values were read by hand with sed/awk on disaggregated_DLRM_trace.csv; the line read
is quoted beside each assertion (line 1 is the header).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.errors import MissingColumns
from ingest.sources import alibaba_dlrm_2025 as dlrm
from ingest.sources.base import read_head
from tests.conftest import lake_sql

TRACE = "datacenter/alibaba_gpu_v2025_dlrm/disaggregated_DLRM_trace.csv"


def _instance(lake_dir: Path, sn: str) -> tuple[object, ...]:
    rows = lake_sql(
        lake_dir,
        "SELECT tenant, job_type, epoch(submit_ts), epoch(start_ts), epoch(end_ts), queue_s, "
        "run_s, num_gpus, num_cpus, mem_gb, status, status_raw, extra FROM jobs "
        f"WHERE job_id = '{sn}'",
    )
    assert len(rows) == 1
    return rows[0]


def test_instances(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(dlrm.SOURCE, [shared / TRACE])
    assert result.trace == "alibaba_dlrm_2025"
    assert result.tables == {"jobs": 23871}  # the README's 23,871 instances
    assert result.rows_rejected == 0
    # Line 7283:
    # instance_7281,CN,app_88,64,64,0,0,1,1,320.0,320.0,255.0,300.0,-1,610.0,683.0,91730.0
    row = _instance(lake_dir, "instance_7281")
    assert row[:12] == (
        "app_88", "CN", 610.0, 683.0, 91730.0, 73.0, 91047.0, 0.0, 64.0, 320.0, "unknown", None,
    )  # fmt: skip
    assert json.loads(str(row[12])) == {
        "cpu_limit": 64.0,
        "gpu_limit": 0.0,
        "memory_limit": 320.0,
        "rdma_request": 1.0,
        "rdma_limit": 1.0,
        "disk_request": 255.0,
        "disk_limit": 300.0,
        "max_instance_per_node": None,  # -1: no density limit
    }
    # Line 7286: ...,-1,475.00000000000006,475.00000000000006,2843.0 -> float noise is dropped.
    noisy = _instance(lake_dir, "instance_7284")
    assert noisy[2:7] == (475.0, 475.0, 2843.0, 0.0, 2368.0)
    # Line 2: instance_0,HN,app_0,12,12,1,1,25,25,120.0,120.0,640.0,800.0,8,,,  (empty = NaN)
    first = _instance(lake_dir, "instance_0")
    assert first[:10] == ("app_0", "HN", None, None, None, None, None, 1.0, 12.0, 120.0)
    assert json.loads(str(first[12]))["max_instance_per_node"] == 8
    # awk: 16,485 CN and 7,386 HN; 7,280 empty creation_time, 8,878 empty deletion_time.
    roles = lake_sql(lake_dir, "SELECT job_type, count(*) FROM jobs GROUP BY 1 ORDER BY 1")
    assert roles == [("CN", 16485), ("HN", 7386)]
    nulls = lake_sql(
        lake_dir,
        "SELECT count(*) - count(submit_ts), count(*) - count(end_ts), count(DISTINCT tenant) "
        "FROM jobs",
    )
    assert nulls == [(7280, 8878, 156)]


def test_missing_column_is_reported(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "disaggregated_DLRM_trace.csv"
    f.write_text("instance_sn,role,app_name,cpu_request\ninstance_0,HN,app_0,12\n")
    with pytest.raises(MissingColumns, match="gpu_request"):
        ingest_one(dlrm.SOURCE, [f])


def test_unparsable_time_is_rejected_with_its_line(
    shared: Path, tmp_path: Path, lake_dir: Path, ingest_one
) -> None:
    lines = (shared / TRACE).read_text().splitlines()[:5]
    lines[2] = lines[2].removesuffix(",,,") + ",,,tomorrow"  # deletion_time of instance_1
    f = tmp_path / "dlrm_edited.csv"
    f.write_text("\n".join(lines) + "\n")
    result = ingest_one(dlrm.SOURCE, [f], max_rejected=1)
    assert result.tables == {"jobs": 3}
    assert result.problems == {"unparsable-value": 1}
    assert "line 3" in result.examples[0]


def test_sniff(shared: Path) -> None:
    path = shared / TRACE
    assert dlrm.SOURCE.sniff(read_head(path), path.name)


@pytest.mark.parametrize(
    "other",
    [
        "datacenter/alibaba_gpu_v2023_openb/openb_pod_list_default.csv",
        "datacenter/alibaba_spot_gpu_v2026/node_info_df.csv",
        "datacenter/alibaba_v2017_batch_task/batch_task.csv",
        "datacenter/acme_trace/cluster_summary.csv",
        "llm_serving/alibaba_genai_gentd26/lora_request_trace.csv",
    ],
)
def test_sniff_rejects_other_samples(shared: Path, other: str) -> None:
    path = shared / other
    assert not dlrm.SOURCE.sniff(read_head(path), path.name)
