"""Alibaba PAI GPU trace v2020: the real machine spec archive, and schema fixtures for the job,
task and instance tables (tests/fixtures/alibaba_pai_2020/README.md says how they were written).

Expected values were read by hand: `tar xzOf pai_machine_spec.tar.gz | sed -n 1p` / awk sums
for the real archive, and the fixture lines quoted beside each assertion.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import duckdb
import pytest

from ingest.errors import EmptyFile, MissingColumns
from ingest.sources import alibaba_pai_2020 as pai
from ingest.sources.base import read_head
from tests.conftest import FIXTURES, lake_sql

PAI = "datacenter/alibaba_pai_gpu_v2020"
SPEC = f"{PAI}/pai_machine_spec.tar.gz"
FIX = FIXTURES / "alibaba_pai_2020"


def _rejected(lake_dir: Path) -> list[tuple[object, ...]]:
    glob = str(lake_dir / "_rejected" / "**" / "*.parquet")
    query = f"SELECT line, problem, message FROM read_parquet('{glob}') ORDER BY line"
    return duckdb.connect().execute(query).fetchall()


def test_machine_spec_archive(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(pai.SOURCE_MACHINE_SPEC, [shared / SPEC])
    assert result.trace == "alibaba_pai_2020_machine_spec"
    # 1,897 header-less lines in the member, three capacity metrics each.
    assert result.tables == {"summaries": 1897 * 3}
    assert result.rows_rejected == 0
    first = lake_sql(
        lake_dir,
        "SELECT kind, metric, stat, value, unit FROM summaries "
        "WHERE entity = '7399a758eb02bae1a3621236' ORDER BY metric",
    )
    # Member line 1: 7399a758eb02bae1a3621236,CPU,96,512,0
    assert first == [
        ("CPU", "cpus", "capacity", 96.0, "cores"),
        ("CPU", "gpus", "capacity", 0.0, "GPUs"),
        ("CPU", "mem_gb", "capacity", 512.0, "GB"),
    ]
    # awk over the member: sum($3)=156576 cores, sum($4)=948224 GB, sum($5)=6742 GPUs.
    totals = lake_sql(lake_dir, "SELECT metric, sum(value) FROM summaries GROUP BY 1 ORDER BY 1")
    assert totals == [("cpus", 156576.0), ("gpus", 6742.0), ("mem_gb", 948224.0)]
    # cut -d, -f2 | sort | uniq -c
    kinds = lake_sql(
        lake_dir, "SELECT kind, count(*) FROM summaries WHERE metric = 'gpus' GROUP BY 1 ORDER BY 1"
    )
    assert kinds == [
        ("CPU", 83),
        ("MISC", 280),
        ("P100", 798),
        ("T4", 497),
        ("V100", 104),
        ("V100M32", 135),
    ]


def test_job_table_fixture(lake_dir: Path, ingest_one) -> None:
    result = ingest_one(pai.SOURCE_JOBS, [FIX / "pai_job_table.csv"])
    assert result.trace == "alibaba_pai_2020_jobs"
    assert result.tables == {"jobs": 10}
    rows = lake_sql(
        lake_dir,
        "SELECT job_id, tenant, epoch(submit_ts), start_ts, epoch(end_ts), run_s, status, "
        "status_raw, extra->>'inst_id' FROM jobs ORDER BY submit_ts",
    )
    # Line 6: 08f0472a2fb0fb7bba66feab,5f05d57a...f211d,5860faf02b6b,Terminated,600000.0,603600.0
    assert rows[0][:8] == (
        "08f0472a2fb0fb7bba66feab",
        "5860faf02b6b",
        600000.0,
        None,  # the job table's start_time is the submission time; no execution start
        603600.0,
        None,
        "ok",
        "Terminated",
    )
    assert rows[0][8] == "5f05d57af7f9b16009b3194d5d5b691ad63f7e38ba278a81495d8f9f211d"
    by_raw = {r[7]: r[6] for r in rows}
    assert by_raw == {
        "Terminated": "ok",
        "Failed": "failed",
        "Running": "unknown",
        "Waiting": "unknown",
    }
    # Line 4 (Running) has an empty end_time; line 7 (Failed) has end_time 0.0: both never.
    ends = lake_sql(lake_dir, "SELECT status_raw, end_ts FROM jobs WHERE end_ts IS NULL")
    assert sorted(ends) == [("Failed", None), ("Running", None), ("Waiting", None)]


def test_task_table_fixture(lake_dir: Path, ingest_one) -> None:
    result = ingest_one(pai.SOURCE_TASKS, [FIX / "pai_task_table.csv"])
    assert result.tables == {"jobs": 12}
    rows = lake_sql(
        lake_dir,
        "SELECT job_type, num_gpus, num_cpus, mem_gb, run_s, extra->>'gpus_per_instance', "
        "extra->>'inst_num' FROM jobs WHERE job_id LIKE '7aa4666ec66a5606dc763931/%' "
        "ORDER BY job_type",
    )
    # Lines 1-2, the README's example job: ps 1 x (600% CPU, 0% GPU), worker 2 x (400%, 50%).
    assert rows == [
        ("ps", 0.0, 6.0, 29.296875, 500.0, "0.0", "1.0"),
        ("worker", 1.0, 8.0, 29.296875, 500.0, "0.5", "2.0"),
    ]
    # ... so the job asks for 14 CPUs and 1 GPU, as the README says.
    job = lake_sql(
        lake_dir,
        "SELECT sum(num_cpus), sum(num_gpus) FROM jobs "
        "WHERE job_id LIKE '7aa4666ec66a5606dc763931/%'",
    )
    assert job == [(14.0, 1.0)]
    # Line 6: a Waiting task with start_time 0.0 and no end_time.
    waiting = lake_sql(
        lake_dir, "SELECT start_ts, end_ts, run_s, status FROM jobs WHERE status_raw = 'Waiting'"
    )
    assert waiting == [(None, None, None, "unknown")]
    # Line 12: CPU-only task, empty plan_gpu -> unknown GPUs, not 0.
    cpu_only = lake_sql(
        lake_dir, "SELECT num_gpus, num_cpus, mem_gb FROM jobs WHERE job_type = 'xComputeWorker'"
    )
    assert cpu_only == [(None, 18.0, 90.0)]


def test_instance_table_fixture(lake_dir: Path, ingest_one) -> None:
    result = ingest_one(pai.SOURCE_INSTANCES, [FIX / "pai_instance_table.csv"])
    assert result.tables == {"jobs": 12}
    # Line 1: ...,ps,7dd768d9...,5c5c8505...,29371762...,Terminated,4550905.0,4551399.0,7399a758...
    first = lake_sql(
        lake_dir,
        "SELECT job_type, epoch(start_ts), epoch(end_ts), run_s, status, extra->>'machine', "
        "extra->>'job_name' FROM jobs WHERE job_id LIKE '5c5c8505%'",
    )
    assert first == [
        (
            "ps",
            4550905.0,
            4551399.0,
            494.0,
            "ok",
            "7399a758eb02bae1a3621236",
            "7aa4666ec66a5606dc763931",
        )
    ]
    statuses = lake_sql(
        lake_dir, "SELECT status_raw, status, count(*) FROM jobs GROUP BY ALL ORDER BY 1"
    )
    assert statuses == [
        ("Failed", "failed", 2),
        ("Interrupted", "unknown", 1),
        ("Running", "unknown", 1),
        ("Terminated", "ok", 7),
        ("Waiting", "unknown", 1),
    ]


def _tar_gz(path: Path, member: str, data: bytes) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_task_table_read_from_archive_rejects_bad_line(
    tmp_path: Path, lake_dir: Path, ingest_one
) -> None:
    text = (FIX / "pai_task_table.csv").read_bytes()
    bad = text + b"ffffffffffffffffffffffff,worker,1.0,Failed,soon,,400.0,20.0,100.0,T4\n"
    archive = _tar_gz(tmp_path / "pai_task_table.tar.gz", "pai_task_table.csv", bad)
    assert pai.SOURCE_TASKS.sniff(read_head(archive), archive.name)
    result = ingest_one(pai.SOURCE_TASKS, [archive], max_rejected=1)
    assert result.tables == {"jobs": 12}
    assert _rejected(lake_dir) == [(13, "unparsable-value", "start_time: 'soon' is not a number")]


def test_csv_garbage_line_is_rejected_with_its_line(
    tmp_path: Path, lake_dir: Path, ingest_one
) -> None:
    f = tmp_path / "pai_job_table.csv"
    lines = (FIX / "pai_job_table.csv").read_text().splitlines()
    lines.insert(2, "aaaaaaaaaaaaaaaaaaaaaaaa,bbbb,cccc,Failed,yesterday,")
    f.write_text("\n".join(lines) + "\n")
    result = ingest_one(pai.SOURCE_JOBS, [f], max_rejected=1)
    assert result.tables == {"jobs": 10}
    assert [(r[0], r[1]) for r in _rejected(lake_dir)] == [(3, "unparsable-value")]


def test_wrong_field_count_is_missing_columns(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "pai_job_table.csv"
    f.write_text("aaaaaaaaaaaaaaaaaaaaaaaa,Terminated,1.0,2.0\n")
    with pytest.raises(MissingColumns, match=r"line 1: 4 fields .* expects 6"):
        ingest_one(pai.SOURCE_JOBS, [f])


SOURCES = {
    "pai_job_table.csv": pai.SOURCE_JOBS,
    "pai_task_table.csv": pai.SOURCE_TASKS,
    "pai_instance_table.csv": pai.SOURCE_INSTANCES,
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_each_fixture_is_claimed_by_its_own_source_only(name: str, shared: Path) -> None:
    head = read_head(FIX / name)
    claims = [s.name for s in (*SOURCES.values(), pai.SOURCE_MACHINE_SPEC) if s.sniff(head, name)]
    assert claims == [SOURCES[name].name]
    spec = shared / SPEC
    assert not SOURCES[name].sniff(read_head(spec), spec.name)


OTHERS = [
    f"{PAI}/pai_job_table.header",
    f"{PAI}/pai_machine_spec.header",
    f"{PAI}/pai_task_table.header",
    "datacenter/alibaba_v2018_machine_prefix/machine_meta.csv",
    "datacenter/alibaba_v2017_batch_task/batch_task.csv",
    "datacenter/alibaba_gpu_v2023_openb/openb_node_list_all_node.csv",
    "datacenter/google_borg_2011/job_events/part-00000-of-00500.csv.gz",
    "llm_serving/alibaba_genai_gentd26/lora_update_latency_anon.tar.gz",
    "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
]


@pytest.mark.parametrize("other", OTHERS)
def test_sniffers_reject_other_samples(shared: Path, other: str) -> None:
    path = shared / other
    head = read_head(path)
    for source in (*SOURCES.values(), pai.SOURCE_MACHINE_SPEC):
        assert not source.sniff(head, path.name), source.name


def test_machine_spec_sniff_needs_the_right_member(shared: Path) -> None:
    spec = shared / SPEC
    assert pai.SOURCE_MACHINE_SPEC.sniff(read_head(spec), spec.name)
    # The real member's bytes under another table's name are not a machine spec.
    assert not pai.SOURCE_MACHINE_SPEC.sniff(read_head(spec), "pai_machine_metric.tar.gz")


def test_archive_of_another_table_is_refused(tmp_path: Path, ingest_one) -> None:
    data = (FIX / "pai_job_table.csv").read_bytes()
    archive = _tar_gz(tmp_path / "pai_task_table.tar.gz", "pai_job_table.csv", data)
    assert not pai.SOURCE_TASKS.sniff(read_head(archive), archive.name)
    with pytest.raises(
        EmptyFile, match=r"starts with 'pai_job_table\.csv', not pai_task_table\.csv"
    ):
        ingest_one(pai.SOURCE_TASKS, [archive])
