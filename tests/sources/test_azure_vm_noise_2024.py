"""Golden tests for the Azure VM Noise 2024 source on the real sample (40 files, 5 metrics).

Expected values were read by hand from the raw files with head/sed/grep/sort/awk (the command
or line is named beside each), not computed by the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import MissingColumns
from ingest.sources import azure_vm_noise_2024 as vm
from ingest.sources.base import read_head
from tests.conftest import lake_sql

SAMPLE = "vm_interference/azure_vm_noise_2024/vm-noise-data"
REDIS = "Redis/Test: GET - Parallel Connections: 50"
FIO = (
    "Flexible IO Tester/Type: Random Read - IO Engine: Sync - Buffered: Yes - Direct: No - "
    "Block Size: 8KB - Local Disk"
)
HEADER = "value,runtime,starttime,VM_id\n"


def _files(shared: Path) -> list[Path]:
    return sorted((shared / SAMPLE).rglob("*.csv"))


@pytest.fixture
def ingested(shared: Path, lake_dir: Path, ingest_one):  # type: ignore[no-untyped-def]
    return ingest_one(vm.SOURCE, _files(shared))


def test_whole_sample_is_one_trace(shared: Path, ingested) -> None:
    assert len(_files(shared)) == 40
    assert ingested.trace == "azure_vm_noise_2024"
    # `cat` of all 40 files without their header lines: 301,001 lines.
    assert ingested.tables == {"measurements": 301001}
    assert ingested.rows_rejected == 0
    # `sort` of every starttime: first 2023-05-28 19:53:13.240, last 2024-09-23 13:13:55.810.
    assert (ingested.ts_min, ingested.ts_max) == (
        "2023-05-28T19:53:13.240000Z",
        "2024-09-23T13:13:55.810000Z",
    )


def test_runs_are_numbered_by_start_time(lake_dir: Path, ingested) -> None:
    rows = lake_sql(
        lake_dir,
        "SELECT run, strftime(ts, '%Y-%m-%d %H:%M:%S.%g'), value, extra, metric, unit, sku, "
        f"region, lifespan FROM measurements WHERE subject = 'long/eastus/B8ms/0' "
        f"AND benchmark = '{REDIS}' ORDER BY run LIMIT 2",
    )
    # Redis long/eastus/B8ms: `grep -n ',0$' | sort -t, -k3` puts line 678
    # (1395659.5,42.29,2023-09-01 03:47:37.400,0) before line 2 (1369512.38,...03:58:13.570).
    assert rows == [
        (
            1,
            "2023-09-01 03:47:37.400",
            1395659.5,
            '{"vm_id":"0","runtime_s":42.29}',
            "requests_per_second",
            "Requests Per Second",
            "B8ms",
            "eastus",
            "long",
        ),
        (
            2,
            "2023-09-01 03:58:13.570",
            1369512.38,
            '{"vm_id":"0","runtime_s":42.94}',
            "requests_per_second",
            "Requests Per Second",
            "B8ms",
            "eastus",
            "long",
        ),
    ]
    # `grep -c ',0$'` on that file: 1718 runs of VM 0.
    assert lake_sql(
        lake_dir,
        f"SELECT count(*), max(run) FROM measurements WHERE subject = 'long/eastus/B8ms/0' "
        f"AND benchmark = '{REDIS}'",
    ) == [(1718, 1718)]


def test_partition_values_are_readable_text(lake_dir: Path, ingested) -> None:
    rows = lake_sql(
        lake_dir, "SELECT DISTINCT benchmark, metric, unit FROM measurements ORDER BY 1, 2"
    )
    assert rows == [
        (FIO, "iops", "IOPS"),
        (FIO, "mib_s", "MiB/s"),
        ("Intel Memory Latency Checker/Test: Idle Latency", "ns", "ns"),
        (REDIS, "requests_per_second", "Requests Per Second"),
        ("Stress-NG/Test: CPU Stress", "bogo_ops_s", "Bogo Ops/s"),
    ]
    assert lake_sql(lake_dir, "SELECT DISTINCT sku FROM measurements ORDER BY 1") == [
        ("B8ms",),
        ("D8s_v5",),
    ]
    # Stress-NG short/westus2/D8s_v5, line 2: 7887.19,30.08,2024-03-22 15:08:36.480,0
    assert lake_sql(
        lake_dir,
        "SELECT value, run, epoch_ms(ts) FROM measurements "
        "WHERE subject = 'short/westus2/D8s_v5/0' AND metric = 'bogo_ops_s'",
    ) == [(7887.19, 1, 1711120116480)]


def test_fio_units_of_one_run_line_up(lake_dir: Path, ingested) -> None:
    # FIO long/westus2/B8ms, `grep -n ',0$' | sort -t, -k3`: VM 0's first run is line 20 of
    # unit=IOPS.csv (3383.0,30.2,2023-05-28 20:22:32.020,0) and line 20 of unit=MiB_s.csv
    # (26.4,...,20:22:32.020,0); its second is line 2 of each (3246.0 and 25.4, 20:36:28.870).
    rows = lake_sql(
        lake_dir,
        "SELECT run, metric, value, strftime(ts, '%H:%M:%S.%g') FROM measurements "
        f"WHERE benchmark = '{FIO}' AND subject = 'long/westus2/B8ms/0' AND run <= 2 "
        "ORDER BY run, metric",
    )
    assert rows == [
        (1, "iops", 3383.0, "20:22:32.020"),
        (1, "mib_s", 26.4, "20:22:32.020"),
        (2, "iops", 3246.0, "20:36:28.870"),
        (2, "mib_s", 25.4, "20:36:28.870"),
    ]


def test_long_lived_vms_join_across_benchmarks(lake_dir: Path, ingested) -> None:
    # README: 12 long-lived VMs; `sort -u` of VM_id in each long unit=ns.csv gives 0 1 2.
    per_vm = lake_sql(
        lake_dir,
        "SELECT subject, count(DISTINCT benchmark) FROM measurements WHERE lifespan = 'long' "
        "GROUP BY subject ORDER BY subject",
    )
    assert len(per_vm) == 12
    assert {n for _, n in per_vm} == {4}
    # A probe/target join per VM: Stress-NG runs paired with Redis runs of the same VM.
    joined = lake_sql(
        lake_dir,
        "SELECT count(DISTINCT a.subject) FROM measurements a JOIN measurements b "
        "USING (subject) WHERE a.lifespan = 'long' AND a.metric = 'bogo_ops_s' "
        "AND b.metric = 'requests_per_second' AND a.run = 1 AND b.run = 1",
    )
    assert joined == [(12,)]
    # Short-lived: every row is its own VM (`sort -u` of VM_id in short/eastus/B8ms/ns: 11815
    # ids in 11815 rows).
    assert lake_sql(
        lake_dir,
        "SELECT count(*), count(DISTINCT subject), max(run) FROM measurements "
        "WHERE lifespan = 'short' AND region = 'eastus' AND sku = 'B8ms' AND metric = 'ns'",
    ) == [(11815, 11815, 1)]


def test_sniff_accepts_every_sample_file_by_name_and_head(shared: Path) -> None:
    for f in _files(shared):
        assert vm.sniff(read_head(f), f.name), f


@pytest.mark.parametrize(
    "other",
    [
        "vm_interference/alibaba_pai_minibatch_time_2020/job_1_norm.csv",
        "vm_interference/alibaba_pai_minibatch_time_2020/coefficient_variation.csv",
        "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
        "llm_serving/mooncake_fast25/conversation_trace.jsonl",
        "serverless/azure_functions_2019_invitro_sample100/durations.csv",
        "serverless/azure_functions_2021/AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv",
        "datacenter/google_borg_2011/job_events/part-00000-of-00500.csv.gz",
        "datacenter/alibaba_v2018_machine_prefix/machine_usage.csv",
        "datacenter/alibaba_pai_gpu_v2020/pai_machine_metric.header",
    ],
)
def test_sniff_rejects_other_samples(shared: Path, other: str) -> None:
    path = shared / other
    assert not vm.sniff(read_head(path), path.name)


def _write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_garbage_row_is_rejected_with_its_line(tmp_path: Path, ingest_one) -> None:
    rel = (
        "test_suite=Redis/test_name=Test:_GET_-_Parallel_Connections:_50/vm_lifespan=long/"
        "vm_region=eastus/vm_sku=B8ms/unit=Requests Per Second.csv"
    )
    f = _write(
        tmp_path,
        rel,
        HEADER + "1369512.38,42.94,2023-09-01 03:58:13.570,0\n"
        "n/a,41.8,2023-09-01 08:19:46.390,0\n"
        "1399761.88,41.8,2023-09-01 08:19:46.390,0\n",
    )
    result = ingest_one(vm.SOURCE, [f], max_rejected=1)
    assert result.tables == {"measurements": 2}
    assert result.problems == {"unparsable-value": 1}
    assert "line 3" in result.examples[0]


def test_path_without_partition_folders_is_refused(tmp_path: Path, ingest_one) -> None:
    f = _write(tmp_path, "unit=IOPS.csv", HEADER + "3246.0,30.21,2023-05-28 20:36:28.870,0\n")
    assert vm.sniff(f.read_bytes(), f.name)
    with pytest.raises(MissingColumns, match=r"test_suite=, test_name=, vm_lifespan="):
        ingest_one(vm.SOURCE, [f])


def test_missing_column_is_refused(tmp_path: Path, ingest_one) -> None:
    rel = "test_suite=S/test_name=T/vm_lifespan=long/vm_region=eastus/vm_sku=B8ms/unit=ns.csv"
    f = _write(tmp_path, rel, "value,runtime,VM_id\n100.5,4.43,0\n")
    assert not vm.sniff(f.read_bytes(), f.name)
    with pytest.raises(MissingColumns, match=r"missing column.*starttime"):
        ingest_one(vm.SOURCE, [f])


def test_earlier_release_layout(tmp_path: Path, lake_dir: Path, ingest_one) -> None:
    # Folder names of the release's first revision (Azure/AzurePublicDataset commit e1930337):
    # vm_duration=, vm_type=, and the unit as the bare file name.
    rel = (
        "test_suite=Flexible_IO_Tester/test_name=Type:_Random_Read_-_Block_Size:_8KB/"
        "vm_duration=long/vm_region=westus2/vm_type=D8s_v5/msec.csv"
    )
    f = _write(tmp_path, rel, HEADER + "12549.73,88.11,2023-09-02 22:12:31.100,0\n")
    ingest_one(vm.SOURCE, [f])
    assert lake_sql(
        lake_dir, "SELECT benchmark, unit, sku, lifespan, subject FROM measurements"
    ) == [
        (
            "Flexible IO Tester/Type: Random Read - Block Size: 8KB",
            "msec",
            "D8s_v5",
            "long",
            "long/westus2/D8s_v5/0",
        )
    ]


def test_short_lived_ids_do_not_name_one_vm_across_benchmarks(lake_dir: Path, ingested) -> None:
    # short/eastus/B8ms, `awk -F, '$4==300'`: Redis 2023-07-02 14:25:54.630, Stress-NG
    # 2024-03-15 22:31:45.120. A short-lived VM runs the suite once, so these are two VMs:
    # the module docstring tells users to join per VM on long-lived subjects only.
    rows = lake_sql(
        lake_dir,
        "SELECT metric, strftime(ts, '%Y-%m-%d %H:%M:%S.%g') FROM measurements "
        "WHERE subject = 'short/eastus/B8ms/300' AND metric IN ('bogo_ops_s', "
        "'requests_per_second') ORDER BY metric",
    )
    assert rows == [
        ("bogo_ops_s", "2024-03-15 22:31:45.120"),
        ("requests_per_second", "2023-07-02 14:25:54.630"),
    ]
