"""Golden tests for the Helios source (SC'21).

NOT real data: tests/fixtures/helios/Venus/cluster_log.csv is a FIXTURE written to the schema
published in S-Lab-System-Group/HeliosData README.md ("cluster_log.csv"); its first three rows
are the README's example rows. No real Helios rows are in ../shared/traces.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.errors import MissingColumns
from ingest.sources import helios
from ingest.sources.base import read_head
from tests.conftest import FIXTURES, lake_sql

VENUS = FIXTURES / "helios" / "Venus" / "cluster_log.csv"
OTHER_REAL = (
    "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
    "llm_serving/alibaba_genai_gentd26/lora_request_trace.csv",
    "datacenter/acme_trace/cluster_summary.csv",
    "datacenter/alibaba_gpu_v2023_openb/openb_pod_list_default.csv",
    "datacenter/alibaba_v2017_batch_task/batch_task.csv",
    "datacenter/alibaba_spot_gpu_v2026/node_info_df.csv",
    "serverless/azure_functions_2021/AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv",
)


def _job(lake_dir: Path, job_id: str) -> tuple[object, ...]:
    rows = lake_sql(
        lake_dir,
        "SELECT strftime(submit_ts, '%Y-%m-%d %H:%M:%S'), strftime(start_ts, '%Y-%m-%d %H:%M:%S'),"
        " strftime(end_ts, '%Y-%m-%d %H:%M:%S'), queue_s, run_s, num_gpus, num_cpus, status,"
        f" status_raw, tenant, cluster, extra FROM jobs WHERE job_id = '{job_id}'",
    )
    assert len(rows) == 1
    return rows[0]


def test_venus_fixture(lake_dir: Path, ingest_one) -> None:
    result = ingest_one(helios.SOURCE, [VENUS])
    assert result.trace == "helios_venus"
    assert result.tables == {"jobs": 8}
    assert result.rows_rejected == 0
    # Fixture line 2 (README example): 2020-06-09 18:41:01 -> 2020-06-10 04:55:09, published
    # duration 36848 s; zone-less times are stored as written.
    row = _job(lake_dir, "1425511")
    assert row[:11] == (
        "2020-06-09 18:41:01", "2020-06-09 18:41:01", "2020-06-10 04:55:09", 0.0, 36848.0,
        1.0, 1.0, "ok", "COMPLETED", "uXBbc", "Venus",
    )  # fmt: skip
    assert json.loads(str(row[11])) == {"vc": "vcJkd", "node_num": 1}
    # Fixture line 9: 64 GPUs on 8 nodes, queued 2 h (published queue 7200), ran 30 s.
    assert _job(lake_dir, "1425518")[3:8] == (7200.0, 30.0, 64.0, 256.0, "cancelled")
    statuses = lake_sql(lake_dir, "SELECT DISTINCT status_raw, status FROM jobs ORDER BY 1")
    assert statuses == [
        ("CANCELLED", "cancelled"),
        ("COMPLETED", "ok"),
        ("FAILED", "failed"),
        ("NODE_FAIL", "failed"),
        ("TIMEOUT", "timeout"),
    ]


def test_run_and_queue_equal_the_published_columns(lake_dir: Path, ingest_one) -> None:
    # The fixture keeps the README's relations, so recomputed times must match them exactly.
    ingest_one(helios.SOURCE, [VENUS])
    published = {
        line.split(",")[0]: (float(line.split(",")[11]), float(line.split(",")[10]))
        for line in VENUS.read_text().splitlines()[1:]
    }
    lake = {
        r[0]: (r[1], r[2]) for r in lake_sql(lake_dir, "SELECT job_id, queue_s, run_s FROM jobs")
    }
    assert lake == published


def test_slurm_states_beyond_the_readme() -> None:
    import duckdb

    states = ["CANCELLED by 1042", "OUT_OF_MEMORY", "PREEMPTED", "SUSPENDED", None]
    rows = duckdb.sql(
        f"SELECT {helios.slurm_status('s')} FROM unnest(?::VARCHAR[]) t(s)", params=[states]
    ).fetchall()
    assert [r[0] for r in rows] == ["cancelled", "failed", "evicted", "unknown", "unknown"]


def test_trace_names() -> None:
    assert helios.trace_name(Path("data/Earth/cluster_log.csv")) == "helios_earth"
    assert helios.trace_name(Path("saturn_cluster_log.csv.gz")) == "helios_saturn"


def test_sniff_accepts_the_fixture() -> None:
    assert helios.SOURCE.sniff(read_head(VENUS), VENUS.name)


@pytest.mark.parametrize("other", OTHER_REAL)
def test_sniff_rejects_other_real_samples(shared: Path, other: str) -> None:
    assert not helios.SOURCE.sniff(read_head(shared / other), Path(other).name)


@pytest.mark.parametrize(
    "fixture", ["acme/trace_seren.csv", "acme/trace_kalos.csv", "philly/cluster_job_log"]
)
def test_sniff_rejects_other_gpu_cluster_fixtures(fixture: str) -> None:
    path = FIXTURES / fixture
    assert not helios.SOURCE.sniff(read_head(path), path.name)


def test_garbage_time_is_rejected_with_its_line(tmp_path: Path, lake_dir: Path, ingest_one) -> None:
    lines = VENUS.read_text().splitlines()
    lines[2] = lines[2].replace("2020-06-09 18:41:27,2020-06", "yesterday,2020-06")  # line 3
    bad = tmp_path / "Venus" / "cluster_log.csv"
    bad.parent.mkdir()
    bad.write_text("\n".join(lines) + "\n")
    result = ingest_one(helios.SOURCE, [bad], max_rejected=1.0)
    assert result.tables == {"jobs": 7}
    assert result.problems == {"unparsable-value": 1}
    assert result.examples == [
        f"{bad}, line 3: unparsable-value: submit_time: 'yesterday' is not a timestamp"
    ]


def test_missing_column_is_named(tmp_path: Path, ingest_one) -> None:
    bad = tmp_path / "cluster_log.csv"
    bad.write_text(VENUS.read_text().replace(",state,", ",status,", 1))
    with pytest.raises(MissingColumns, match=r"missing column\(s\) state for source 'helios'"):
        ingest_one(helios.SOURCE, [bad])
