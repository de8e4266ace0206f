"""Golden tests for Alibaba cluster-trace-v2017 batch_task on the real (complete) table.

Expected values were read by hand from the raw CSV with grep -n/awk (line numbers in the
comments count the mirror's added header as line 1), never computed by the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.errors import MissingColumns
from ingest.sources import alibaba_2017
from ingest.sources.base import read_head
from tests.conftest import lake_sql

BATCH_TASK = "datacenter/alibaba_v2017_batch_task/batch_task.csv"
OTHER_SAMPLES = (
    "datacenter/alibaba_v2018_machine_prefix/machine_usage.csv",
    "datacenter/alibaba_v2018_machine_prefix/machine_meta.csv",
    "datacenter/google_borg_2011/job_events/part-00000-of-00500.csv.gz",
    "datacenter/google_borg_2011/task_events/part-00001-of-00500.csv.gz",
    "datacenter/pwa_swf_kth_sp2/KTH-SP2-1996-2.1-cln.swf.gz",
    "datacenter/alibaba_gpu_v2023_openb/openb_pod_list_default.csv",
    "datacenter/alibaba_pai_gpu_v2020/pai_task_table.header",
    "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
    "serverless/azure_functions_2021/AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv",
)
TS = "'%Y-%m-%d %H:%M:%S'"


def _task(lake_dir: Path, job_id: str) -> tuple[object, ...]:
    rows = lake_sql(
        lake_dir,
        f"SELECT strftime(submit_ts, {TS}), strftime(end_ts, {TS}), start_ts, run_s, "
        f"num_cpus, status, status_raw, extra FROM jobs WHERE job_id = '{job_id}'",
    )
    assert len(rows) == 1
    return rows[0]


@pytest.fixture
def lake(shared: Path, lake_dir: Path, ingest_one) -> Path:
    result = ingest_one(alibaba_2017.SOURCE, [shared / BATCH_TASK])
    assert result.trace == "alibaba_2017_batch_task"
    # 80,554 lines minus the header the mirror added (SOURCE.md); no line is bad.
    assert result.tables == {"jobs": 80553}
    assert result.rows_rejected == 0
    return lake_dir


def test_status_mapping(lake: Path) -> None:
    # awk -F, 'NR>1{print $6}' | sort | uniq -c: Terminated 67013, Failed 1126,
    # Running 3567, Waiting 8847 (the last two are in progress when the trace ends).
    rows = lake_sql(lake, "SELECT status, status_raw, count(*) FROM jobs GROUP BY ALL ORDER BY ALL")
    assert rows == [
        ("failed", "Failed", 1126),
        ("ok", "Terminated", 67013),
        ("unknown", "Running", 3567),
        ("unknown", "Waiting", 8847),
    ]
    # Only finished tasks have an end time.
    assert lake_sql(lake, "SELECT count(end_ts) FROM jobs") == [(67013 + 1126,)]


def test_values_read_by_hand(lake: Path) -> None:
    # Line 2: 6459,6524,3,4,15740,Terminated,50,0.007956928
    submit, end, start, run_s, cpus, status, raw, extra = _task(lake, "3/4")
    assert (submit, end) == ("1970-01-01 01:47:39", "1970-01-01 01:48:44")
    assert (start, run_s) == (None, None)  # the task table has no start time
    assert cpus == 0.5  # 50 per instance = half a core
    assert (status, raw) == ("ok", "Terminated")
    fields = json.loads(str(extra))
    assert fields["instances"] == 15740
    assert fields["plan_mem_normalized"] == pytest.approx(0.007956928)
    assert fields["create_to_end_s"] == 65.0
    # Line 36: 16341,16391,28,153,407,Failed,50,0.016007041
    assert _task(lake, "28/153")[:2] == ("1970-01-01 04:32:21", "1970-01-01 04:33:11")
    assert _task(lake, "28/153")[5] == "failed"
    # Line 4: 6036,6046,4,7,393,Waiting,, -> no request, no end; 6046 is the last change.
    _, end, _, _, cpus, status, _, extra = _task(lake, "4/7")
    assert (end, cpus, status) == (None, None, "unknown")
    assert json.loads(str(extra))["last_change_s"] == 6046
    # Line 388: 51997,0,376,1955,1,Running,100,0.002754122 -> 100 = one core.
    _, end, _, _, cpus, _, raw, _ = _task(lake, "376/1955")
    assert (end, cpus, raw) == (None, 1.0, "Running")
    # Line 5625: -60,-55,6168,37197,1,Terminated,... created before the trace window.
    assert _task(lake, "6168/37197")[:2] == ("1969-12-31 23:59:00", "1969-12-31 23:59:05")


def test_sniff(shared: Path) -> None:
    path = shared / BATCH_TASK
    assert alibaba_2017.SOURCE.sniff(read_head(path), path.name)


@pytest.mark.parametrize("other", OTHER_SAMPLES)
def test_sniff_rejects_other_samples(shared: Path, other: str) -> None:
    path = shared / other
    assert not alibaba_2017.SOURCE.sniff(read_head(path), path.name)


def test_headerless_file_with_a_garbage_row(tmp_path: Path, lake_dir: Path, ingest_one) -> None:
    # The official release has no header line.
    path = tmp_path / "batch_task.csv"
    path.write_text(
        "6459,6524,3,4,15740,Terminated,50,0.007956928\n"
        "6457,6533,3,5,-1,Terminated,50,0.004395206\n"
        "6036,6046,4,7,393,Waiting,,\n"
    )
    assert alibaba_2017.SOURCE.sniff(path.read_bytes(), path.name)
    result = ingest_one(alibaba_2017.SOURCE, [path], max_rejected=1.0)
    assert result.tables == {"jobs": 2}
    assert result.rows_rejected == 1
    assert "line 2: negative-count: instances: '-1'" in result.examples[0]


def test_wrong_field_count_is_missing_columns(tmp_path: Path, ingest_one) -> None:
    path = tmp_path / "batch_task.csv"
    path.write_text("6459,6524,3,4,15740,Terminated,50\n")
    with pytest.raises(MissingColumns, match=r"line 1: 7 field\(s\) .* needs 8"):
        ingest_one(alibaba_2017.SOURCE, [path])
