"""Golden tests for the Google 2011 (Borg) job_events / task_events sources on the real parts.

Expected values were read by hand from the raw parts with zcat/grep/awk (the commands and line
numbers are in the comments), never computed by the code under test. Stored times are the raw
microseconds minus the documented 600 s offset, anchored at 1970-01-01 UTC.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ingest.errors import MissingColumns
from ingest.sources import google_2011
from ingest.sources.base import read_head
from tests.conftest import lake_sql

BORG = "datacenter/google_borg_2011"
OTHER_SAMPLES = (
    "datacenter/alibaba_v2017_batch_task/batch_task.csv",
    "datacenter/alibaba_v2018_machine_prefix/machine_usage.csv",
    "datacenter/alibaba_v2018_machine_prefix/machine_meta.csv",
    "datacenter/pwa_swf_kth_sp2/KTH-SP2-1996-2.1-cln.swf.gz",
    "datacenter/acme_trace/cluster_summary.csv",
    "datacenter/alibaba_pai_gpu_v2020/pai_machine_spec.tar.gz",
    "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
    "llm_serving/mooncake_fast25/conversation_trace.jsonl",
    "serverless/azure_functions_2019_invitro_sample100/invocations.csv",
)
TS = "'%Y-%m-%d %H:%M:%S.%f'"


def _parts(shared: Path, table: str) -> list[Path]:
    return sorted((shared / BORG / table).glob("part-*.csv.gz"))


def _job(lake_dir: Path, job_id: str) -> tuple[object, ...]:
    rows = lake_sql(
        lake_dir,
        f"SELECT strftime(submit_ts, {TS}), strftime(start_ts, {TS}), strftime(end_ts, {TS}), "
        "queue_s, run_s, status, status_raw, job_type, tenant, extra "
        f"FROM jobs WHERE job_id = '{job_id}'",
    )
    assert len(rows) == 1
    return rows[0]


def test_job_events_all_parts_form_one_trace(shared: Path, lake_dir: Path, ingest_one) -> None:
    parts = _parts(shared, "job_events")
    assert len(parts) == 5
    assert {google_2011.SOURCE_JOBS.default_trace(p) for p in parts} == {"google_2011_jobs"}
    result = ingest_one(google_2011.SOURCE_JOBS, parts)
    # `zcat job_events/*.gz | cut -d, -f3 | sort -u | wc -l` -> 9808 distinct job IDs.
    assert result.tables == {"jobs": 9808}
    assert result.rows_rejected == 0
    # `zcat ... | awk -F, '{print $4}' | sort | uniq -c`: FINISH(4) 3715, KILL(5) 2015,
    # FAIL(3) 94, no EVICT/LOST; no job has two terminal events, so every other job
    # (9808 - 3715 - 2015 - 94 = 3984) is still pending or running at the end of part 4.
    counts = lake_sql(lake_dir, "SELECT status, count(*) FROM jobs GROUP BY 1 ORDER BY 1")
    assert counts == [("failed", 94), ("killed", 2015), ("ok", 3715), ("unknown", 3984)]


def test_job_lifecycle_across_part_files(shared: Path, lake_dir: Path, ingest_one) -> None:
    ingest_one(google_2011.SOURCE_JOBS, _parts(shared, "job_events"))
    # part-00000 line 8078: 777986216,,6251684810,0,... (SUBMIT)
    # part-00000 line 8079: 780077205,,6251684810,1,... (SCHEDULE)
    # part-00001 line 1742: 8487030485,,6251684810,4,... (FINISH); minus 600 s each.
    submit, start, end, queue_s, run_s, status, raw, job_type, _, extra = _job(
        lake_dir, "6251684810"
    )
    assert (submit, start, end) == (
        "1970-01-01 00:02:57.986216",
        "1970-01-01 00:03:00.077205",
        "1970-01-01 02:11:27.030485",
    )
    assert queue_s == pytest.approx(2.090989)
    assert run_s == pytest.approx(7706.95328)
    assert (status, raw, job_type) == ("ok", "FINISH", "job")
    assert json.loads(str(extra))["scheduling_class"] is not None


def test_job_times_before_the_window_are_null(shared: Path, lake_dir: Path, ingest_one) -> None:
    ingest_one(google_2011.SOURCE_JOBS, _parts(shared, "job_events"))
    # part-00000 lines 3950/7934: 0,,6251620795,0 and 0,,6251620795,1 (before the window);
    # line 7993: 659602520,,6251620795,3,fVUqjeDq... (FAIL at 59.60252 s).
    submit, start, end, queue_s, run_s, status, raw, _, tenant, _ = _job(lake_dir, "6251620795")
    assert (submit, start, queue_s, run_s) == (None, None, None, None)
    assert end == "1970-01-01 00:00:59.602520"
    assert (status, raw) == ("failed", "FAIL")
    assert tenant == "fVUqjeDqXrzcJObPpFT8U1FwH8uBfyRXJQa4zRlwpb4="
    # part-00000 lines 1 and 3987: job 3418309 is only SUBMITted and SCHEDULEd at time 0:
    # still running at the end, so no end time and status unknown.
    submit, start, end, _, _, status, raw, _, _, _ = _job(lake_dir, "3418309")
    assert (submit, start, end, status, raw) == (None, None, None, "unknown", "SCHEDULE")


def test_task_events(shared: Path, lake_dir: Path, ingest_one) -> None:
    parts = _parts(shared, "task_events")
    result = ingest_one(google_2011.SOURCE_TASKS, parts)
    assert result.trace == "google_2011_tasks"
    # `zcat task_events/*.gz | cut -d, -f3,4 | sort -u | wc -l` -> 25006 tasks.
    assert result.tables == {"jobs": 25006}
    assert result.rows_rejected == 0
    # Lines 422, 569, 1503: task 6252020624/0 SUBMIT 5638258832, SCHEDULE 5640467079 on
    # machine 331141765, FINISH 5722451198; priority 2, CPU 0.006248, memory 0.002174.
    submit, start, end, queue_s, run_s, status, raw, job_type, _, extra = _job(
        lake_dir, "6252020624/0"
    )
    assert (submit, start, end) == (
        "1970-01-01 01:23:58.258832",
        "1970-01-01 01:24:00.467079",
        "1970-01-01 01:25:22.451198",
    )
    assert queue_s == pytest.approx(2.208247)
    assert run_s == pytest.approx(81.984119)
    assert (status, raw, job_type) == ("ok", "FINISH", "task")
    fields = json.loads(str(extra))
    assert fields["cpu_request"] == pytest.approx(0.006248)  # normalized: not in num_cpus
    assert fields["memory_request"] == pytest.approx(0.002174)
    assert (fields["priority"], fields["machine_id"], fields["submits"]) == (2, 331141765, 1)
    assert lake_sql(lake_dir, "SELECT count(num_cpus), count(mem_gb) FROM jobs") == [(0, 0)]


def test_task_whose_beginning_is_in_another_part(shared: Path, lake_dir: Path, ingest_one) -> None:
    ingest_one(google_2011.SOURCE_TASKS, _parts(shared, "task_events"))
    # Lines 5, 6, 610: task 6221861800/15930 is EVICTed (5612608285), resubmitted
    # (5612608292) and SCHEDULEd again (5640467642): its first SUBMIT is in part 0 (absent),
    # and it is running at the end of part 1.
    submit, start, end, _, run_s, status, raw, _, _, extra = _job(lake_dir, "6221861800/15930")
    assert (submit, start, end, run_s, status, raw) == (
        None,
        None,
        None,
        None,
        "unknown",
        "SCHEDULE",
    )
    assert json.loads(str(extra))["evictions"] == 1
    # Line 1 (`zcat | head -1`): 5611824441,,6251812952,1761,1306108,4,... only a FINISH.
    _, _, end, _, _, status, _, _, _, extra = _job(lake_dir, "6251812952/1761")
    assert (end, status) == ("1970-01-01 01:23:31.824441", "ok")
    assert json.loads(str(extra))["cpu_request"] == pytest.approx(0.02499)


def test_sniff_accepts_its_parts(shared: Path) -> None:
    for part in _parts(shared, "job_events"):
        head = read_head(part)
        assert google_2011.SOURCE_JOBS.sniff(head, part.name)
        assert not google_2011.SOURCE_TASKS.sniff(head, part.name)
    for part in _parts(shared, "task_events"):
        head = read_head(part)
        assert google_2011.SOURCE_TASKS.sniff(head, part.name)
        assert not google_2011.SOURCE_JOBS.sniff(head, part.name)


@pytest.mark.parametrize("other", OTHER_SAMPLES)
def test_sniff_rejects_other_samples(shared: Path, other: str) -> None:
    path = shared / other
    head = read_head(path)
    assert not google_2011.SOURCE_JOBS.sniff(head, path.name)
    assert not google_2011.SOURCE_TASKS.sniff(head, path.name)


def _gz(path: Path, text: str) -> Path:
    with gzip.open(path, "wt") as f:
        f.write(text)
    return path


JOB_LINE = "{t},,{job},{ev},user=,1,name=,logical=\n"


def test_garbage_row_is_rejected_with_its_line(tmp_path: Path, lake_dir: Path, ingest_one) -> None:
    part = _gz(
        tmp_path / "part-00000-of-00500.csv.gz",
        JOB_LINE.format(t=700000000, job=1, ev=0)
        + JOB_LINE.format(t="yesterday", job=1, ev=1)
        + JOB_LINE.format(t=900000000, job=1, ev=4),
    )
    result = ingest_one(google_2011.SOURCE_JOBS, [part], max_rejected=1.0)
    assert result.rows_rejected == 1
    assert "line 2: unparsable-value" in result.examples[0]
    # Without its SCHEDULE the job has no start; it still ends with FINISH at 300 s.
    rows = lake_sql(lake_dir, f"SELECT strftime(end_ts, {TS}), status, start_ts FROM jobs")
    assert rows == [("1970-01-01 00:05:00.000000", "ok", None)]


def test_wrong_field_count_is_missing_columns(tmp_path: Path, ingest_one) -> None:
    part = _gz(tmp_path / "part-00000-of-00500.csv.gz", "600000000,,1,0,user=,1,name=\n")
    with pytest.raises(
        MissingColumns,
        match=r"line 1: 7 field\(s\) where source "
        r"'google_2011_jobs' needs 8",
    ):
        ingest_one(google_2011.SOURCE_JOBS, [part])
