"""Golden tests for the Acme sources (NSDI'24).

cluster_summary.csv is the REAL file from ../shared/traces (InternLM/AcmeTrace, commit
6d6ac9cd); expected values were read by hand with awk from its lines 2-6.

The job traces (trace_seren.csv, trace_kalos.csv) are NOT real data: tests/fixtures/acme/ holds
a FIXTURE written to the schema published in InternLM/AcmeTrace README.md ("1. Job Trace"); its
first two rows per file are the README's example rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.errors import MissingColumns
from ingest.sources import acme
from ingest.sources.base import read_head
from tests.conftest import FIXTURES, lake_sql

SUMMARY = "datacenter/acme_trace/cluster_summary.csv"
SEREN = FIXTURES / "acme" / "trace_seren.csv"
KALOS = FIXTURES / "acme" / "trace_kalos.csv"
OTHER_REAL = (
    "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
    "llm_serving/mooncake_fast25/conversation_trace.jsonl",
    "datacenter/alibaba_gpu_v2023_openb/openb_pod_list_default.csv",
    "datacenter/alibaba_v2017_batch_task/batch_task.csv",
    "datacenter/alibaba_gpu_v2025_dlrm/disaggregated_DLRM_trace.csv",
    "datacenter/pwa_swf_kth_sp2/KTH-SP2-1996-2.1-cln.swf.gz",
    "datacenter/google_borg_2011/job_events/part-00000-of-00500.csv.gz",
)


def _summary(lake_dir: Path, entity: str, column: str) -> list[tuple[object, ...]]:
    return lake_sql(
        lake_dir,
        "SELECT kind, metric, stat, value, unit, count FROM summaries "
        f"WHERE entity = '{entity}' AND json_extract_string(extra, 'column') = '{column}'",
    )


def test_cluster_summary_real_file(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(acme.SOURCE_SUMMARY, [shared / SUMMARY])
    assert result.trace == "acme_cluster_summary"
    # Non-empty statistic cells per line (awk over fields 2..28): Seren 27, Kalos 27,
    # Philly 20 (no CPU columns), Helios 27, PAI 11 (no state shares): 112.
    assert result.tables == {"summaries": 112}
    assert result.rows_rejected == 0
    per_cluster = lake_sql(lake_dir, "SELECT entity, count(*) FROM summaries GROUP BY 1 ORDER BY 1")
    assert per_cluster == [
        ("Helios", 27),
        ("Kalos", 27),
        ("PAI", 11),
        ("Philly", 20),
        ("Seren", 27),
    ]
    # Line 2 (Seren): avg_run_time_gpu=1414.335 over gpu_job_num=663813 GPU jobs.
    assert _summary(lake_dir, "Seren", "avg_run_time_gpu") == [
        ("gpu", "run_s", "mean", 1414.335, "s", 663813)
    ]
    assert _summary(lake_dir, "Seren", "complete_rate_gpu") == [
        ("gpu", "jobs_completed", "fraction", 0.497, "fraction of jobs", 663813)
    ]
    # Line 3 (Kalos): med_que_time_gpu=17.0.
    assert _summary(lake_dir, "Kalos", "med_que_time_gpu") == [
        ("gpu", "queue_s", "p50", 17.0, "s", 19907)
    ]
    # Line 4 (Philly): fail_rate_gpu=0.305 of 112956 GPU jobs; its CPU cells are empty.
    assert _summary(lake_dir, "Philly", "fail_rate_gpu") == [
        ("gpu", "jobs_failed", "fraction", 0.305, "fraction of jobs", 112956)
    ]
    assert _summary(lake_dir, "Philly", "avg_que_time_cpu") == []
    # Line 5 (Helios): complete_gpu_time=39994296320.0 GPU-seconds; job_num=3362981.
    assert _summary(lake_dir, "Helios", "complete_gpu_time") == [
        ("gpu", "gpu_time_completed", "sum", 39994296320.0, "GPU-s", 1580464)
    ]
    assert _summary(lake_dir, "Helios", "job_num") == [
        ("all", "jobs", "count", 3362981.0, "jobs", None)
    ]


def _jobs(lake_dir: Path, job_id: str) -> tuple[object, ...]:
    rows = lake_sql(
        lake_dir,
        "SELECT strftime(submit_ts, '%Y-%m-%d %H:%M:%S'), strftime(end_ts, '%Y-%m-%d %H:%M:%S'), "
        "queue_s, run_s, num_gpus, num_cpus, mem_gb, status, status_raw, tenant, job_type, "
        f"cluster, extra FROM jobs WHERE job_id = '{job_id}'",
    )
    assert len(rows) == 1
    return rows[0]


def test_seren_fixture(lake_dir: Path, ingest_one) -> None:
    result = ingest_one(acme.SOURCE_JOBS, [SEREN])
    assert result.trace == "acme_seren"
    assert result.tables == {"jobs": 8}
    assert result.rows_rejected == 0
    # Fixture line 2 (README example): submitted 2023-03-01 00:18:22+08:00, i.e. 16:18:22 UTC
    # the day before; start 00:18:54, end 00:20:51: queue 32 s, run 117 s.
    row = _jobs(lake_dir, "5778432")
    assert row[:12] == (
        "2023-02-28 16:18:22", "2023-02-28 16:20:51", 32.0, 117.0, 8.0, 128.0, None,
        "failed", "FAILED", "u5907", "Other", "Seren",
    )  # fmt: skip
    assert json.loads(str(row[12])) == {
        "node_num": 1, "duration": 117.0, "queue": 32.0, "gpu_time": 936.0
    }  # fmt: skip
    statuses = lake_sql(lake_dir, "SELECT DISTINCT status_raw, status FROM jobs ORDER BY 1")
    assert statuses == [
        ("CANCELLED", "cancelled"),
        ("COMPLETED", "ok"),
        ("FAILED", "failed"),
        ("NODE_FAIL", "failed"),
        ("TIMEOUT", "timeout"),
    ]


def test_kalos_fixture_recomputes_run_time(lake_dir: Path, ingest_one) -> None:
    result = ingest_one(acme.SOURCE_JOBS, [KALOS])
    assert result.trace == "acme_kalos"
    assert result.tables == {"jobs": 6}
    # Fixture line 2 (README example): start 11:01:08, end 11:01:16 (+00:00), so it ran 8 s;
    # the published duration is 18 (= end - submit) and stays in extra. 8 pods x 1000 GB.
    row = _jobs(lake_dir, "dlctk696s0jbvitv")
    assert row[:12] == (
        "2023-05-17 11:00:58", "2023-05-17 11:01:16", 10.0, 8.0, 64.0, 960.0, 8000.0,
        "failed", "FAILED", "uf794", "Other", "Kalos",
    )  # fmt: skip
    extra = json.loads(str(row[12]))
    assert extra["duration"] == 18.0
    assert extra["mem_per_pod_GB"] == 1000.0
    assert extra["fail_time"] == "2023-05-17 11:01:16+00"
    assert extra["stop_time"] is None
    # Fixture line 7: a CPU-only job (gpu_num 0) on one 32 GB pod.
    assert _jobs(lake_dir, "dlc0v1w2x3y4z5a6")[4:7] == (0.0, 8.0, 32.0)


def test_sniff_accepts_its_files(shared: Path) -> None:
    assert acme.SOURCE_SUMMARY.sniff(read_head(shared / SUMMARY), "cluster_summary.csv")
    assert not acme.SOURCE_JOBS.sniff(read_head(shared / SUMMARY), "cluster_summary.csv")
    for path in (SEREN, KALOS):
        assert acme.SOURCE_JOBS.sniff(read_head(path), path.name)
        assert not acme.SOURCE_SUMMARY.sniff(read_head(path), path.name)


@pytest.mark.parametrize("other", OTHER_REAL)
def test_sniff_rejects_other_real_samples(shared: Path, other: str) -> None:
    head = read_head(shared / other)
    assert not acme.SOURCE_SUMMARY.sniff(head, Path(other).name)
    assert not acme.SOURCE_JOBS.sniff(head, Path(other).name)


@pytest.mark.parametrize("fixture", ["helios/Venus/cluster_log.csv", "philly/cluster_job_log"])
def test_sniff_rejects_other_gpu_cluster_fixtures(fixture: str) -> None:
    path = FIXTURES / fixture
    assert not acme.SOURCE_JOBS.sniff(read_head(path), path.name)
    assert not acme.SOURCE_SUMMARY.sniff(read_head(path), path.name)


def test_missing_column_is_named(tmp_path: Path, ingest_one) -> None:
    lines = KALOS.read_text().splitlines()
    bad = tmp_path / "trace_kalos.csv"
    bad.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")  # drop gpu_time
    with pytest.raises(MissingColumns, match=r"line 1: missing column\(s\) gpu_time .*acme_jobs"):
        ingest_one(acme.SOURCE_JOBS, [bad])


def test_negative_gpu_count_is_rejected_with_its_line(
    tmp_path: Path, lake_dir: Path, ingest_one
) -> None:
    lines = SEREN.read_text().splitlines()
    lines[3] = lines[3].replace("u1a2b,1,0,4", "u1a2b,1,-2,4")  # file line 4
    bad = tmp_path / "trace_seren.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = ingest_one(acme.SOURCE_JOBS, [bad], max_rejected=1.0)
    assert result.tables == {"jobs": 7}
    assert result.rows_rejected == 1
    assert result.problems == {"negative-count": 1}
    assert result.examples[0].startswith(f"{bad}, line 4: negative-count: gpu_num")
