"""Huawei 2023 series and 2025 cold starts, on fixtures written to the published schemas.

No real rows are available here (see tests/fixtures/huawei_2023/README.md and
tests/fixtures/huawei_2025/README.md for the schema sources). Expected values are read from
the fixture lines named in the comments.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import DataError, MissingColumns
from ingest.sources import huawei_serverless
from ingest.sources.base import read_head
from tests.conftest import FIXTURES, lake_sql

H2023 = FIXTURES / "huawei_2023"
H2025 = FIXTURES / "huawei_2025"
PRIVATE = H2023 / "private_dataset"
RUNTIME = H2025 / "runtime_triggerType" / "df_funcID_runtime_triggerType.csv"
S2023 = huawei_serverless.SOURCE_2023
S2025 = huawei_serverless.SOURCE_2025

OTHER_SAMPLES = (
    "serverless/azure_functions_2019_invitro_sample100/invocations.csv",
    "serverless/azure_functions_2019_invitro_sample100/memory.csv",
    "serverless/azure_functions_2021/AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv",
    "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
    "llm_serving/mooncake_fast25/conversation_trace.jsonl",
    "datacenter/alibaba_v2018_machine_prefix/machine_usage.csv",
    "datacenter/alibaba_spot_gpu_v2026/node_info_df.csv",
    "datacenter/google_borg_2011/job_events/part-00000-of-00500.csv.gz",
    "vm_interference/alibaba_pai_minibatch_time_2020/coefficient_variation.csv",
)


def _series(lake_dir: Path, where: str) -> list[tuple[object, ...]]:
    return lake_sql(
        lake_dir,
        "SELECT entity, strftime(ts, '%Y-%m-%d %H:%M:%S'), interval_s, value, unit FROM series "
        f"WHERE {where} ORDER BY ts, entity",
    )


def test_2023_private_release_is_one_trace(lake_dir: Path, ingest_one) -> None:
    files = sorted(PRIVATE.rglob("*.csv"))
    assert {S2023.default_trace(f) for f in files} == {"huawei_2023_private"}
    result = ingest_one(S2023, files)
    # Non-empty cells: requests_minute 12, function_delay_minute 6, memory_limit_minute 5,
    # requests_second 6.
    assert result.tables == {"series": 29}
    assert result.rows_rejected == 0
    # requests_minute/day_000.csv line 4: 0,120,1069.0,0.0,2024.0 (a zero is kept).
    assert _series(
        lake_dir, "metric = 'invocations' AND interval_s = 60 AND ts = '1970-01-01 00:02:00'"
    ) == [
        ("28", "1970-01-01 00:02:00", 60.0, 1069.0, "count"),
        ("33", "1970-01-01 00:02:00", 60.0, 0.0, "count"),
        ("55", "1970-01-01 00:02:00", 60.0, 2024.0, "count"),
    ]
    # requests_second/day_000.csv line 3: 0,1,14.0,,32.0 (the empty cell is no row).
    assert _series(lake_dir, "interval_s = 1 AND ts = '1970-01-01 00:00:01'") == [
        ("28", "1970-01-01 00:00:01", 1.0, 14.0, "count"),
        ("55", "1970-01-01 00:00:01", 1.0, 32.0, "count"),
    ]
    # function_delay_minute/day_000.csv line 2: 0,0,12.5,,250.0 (ms -> s).
    assert _series(lake_dir, "metric = 'function_delay_s' AND ts = '1970-01-01 00:00:00'") == [
        ("28", "1970-01-01 00:00:00", 60.0, 0.0125, "s"),
        ("55", "1970-01-01 00:00:00", 60.0, 0.25, "s"),
    ]
    # memory_limit_minute/day_001.csv line 3: 1,86460,512.0,1024.0,2048.0 (MB -> GB, day 1).
    assert _series(lake_dir, "metric = 'mem_limit_gb' AND ts = '1970-01-02 00:01:00'") == [
        ("28", "1970-01-02 00:01:00", 60.0, 0.5, "GB"),
        ("33", "1970-01-02 00:01:00", 60.0, 1.0, "GB"),
        ("55", "1970-01-02 00:01:00", 60.0, 2.0, "GB"),
    ]


def test_2023_public_release(lake_dir: Path, ingest_one) -> None:
    f = H2023 / "public_dataset" / "requests_minute" / "day_00.csv"
    result = ingest_one(S2023, [f])
    assert result.trace == "huawei_2023_public"
    assert result.tables == {"series": 6}
    # Line 3: 0,60,3.0,,118.0,1.0
    assert _series(lake_dir, "ts = '1970-01-01 00:01:00'") == [
        ("0", "1970-01-01 00:01:00", 60.0, 3.0, "count"),
        ("2", "1970-01-01 00:01:00", 60.0, 118.0, "count"),
        ("3", "1970-01-01 00:01:00", 60.0, 1.0, "count"),
    ]


def test_2023_trace_name_without_release_folder(tmp_path: Path) -> None:
    assert S2023.default_trace(tmp_path / "requests_minute" / "day_07.csv") == "huawei_2023_public"
    assert S2023.default_trace(tmp_path / "requests_minute" / "day_007.csv") == (
        "huawei_2023_private"
    )


def test_2023_unknown_metric_folder(tmp_path: Path, ingest_one) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    f = folder / "day_000.csv"
    f.write_text("day,time,1,2\n0,0,1.0,2.0\n")
    with pytest.raises(DataError, match="requests_minute"):
        ingest_one(S2023, [f])


def test_2023_garbage_cell_is_rejected_with_its_line(
    tmp_path: Path, lake_dir: Path, ingest_one
) -> None:
    folder = tmp_path / "cpu_usage_minute"
    folder.mkdir()
    f = folder / "day_000.csv"
    f.write_text("day,time,1,2\n0,0,10.5,20.0\n0,60,n/a,21.0\n0,120,12.0,\n")
    result = ingest_one(S2023, [f], max_rejected=1.0)
    assert result.tables == {"series": 3}
    assert result.problems == {"unparsable-value": 1}
    assert f"{f}, line 3" in result.examples[0]
    assert lake_sql(lake_dir, "SELECT DISTINCT metric, unit FROM series") == [
        ("cpu_util", "percent")
    ]


def test_2025_cold_starts(lake_dir: Path, ingest_one) -> None:
    files = [*sorted((H2025 / "cold_start").rglob("*.csv")), RUNTIME]
    assert {S2025.default_trace(f) for f in files} == {"huawei_2025_cold_starts"}
    result = ingest_one(S2025, files)
    assert result.tables == {"cold_starts": 6}  # 3 rows in R1/day_00.csv, 3 in R2/day_30.csv
    assert result.rows_rejected == 0
    rows = lake_sql(
        lake_dir,
        "SELECT epoch_us(ts), service, tenant, region, runtime, trigger, pod_id, total_s, "
        "pod_alloc_s, code_deploy_s, deps_deploy_s, scheduling_s FROM cold_starts ORDER BY ts",
    )
    # R1/day_00.csv line 4, the README's example row: day 0, time 51937.425, funcName 10,
    # userID 134, pod pool24-600-512-0000577863. Runtime/trigger only describe Region 2, so
    # the table's line for 10---134---pool24-600-512 is not applied to this R1 row.
    assert rows[2] == (
        51937425000,
        "10---134---pool24-600-512",
        "134",
        "R1",
        None,
        None,
        "pool24-600-512-0000577863",
        2.239314,
        0.027161815,
        0.045,
        0.454,
        1.713152185,
    )
    # R2/day_30.csv line 3: funcName 400, userID 418, pool22-300-128 -> Python3, workflow-S.
    assert rows[4][:7] == (
        2600200500000,
        "400---418---pool22-300-128",
        "418",
        "R2",
        "Python3",
        "workflow-S",
        "pool22-300-128-0000618999",
    )
    # R2/day_30.csv line 4: 224---201---pool35-6600-8192 is not in the runtime table.
    assert rows[5][:6] == (
        2678350991000,
        "224---201---pool35-6600-8192",
        "201",
        "R2",
        None,
        None,
    )
    extra = lake_sql(
        lake_dir, "SELECT extra FROM cold_starts WHERE service = '296---224---pool22-300-128'"
    )
    assert extra == [
        (
            '{"request_id":"763ff09a55e1c0b2d4f8","cluster":"1","day":30,"func_name":"296",'
            '"pool":"pool22-300-128","cpu_request_millicores":250.0}',
        )
    ]


def test_2025_runtime_table_alone_is_an_error(ingest_one) -> None:
    with pytest.raises(DataError, match="together with the cold-start files"):
        ingest_one(S2025, [RUNTIME])


def test_2025_missing_column(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "R3" / "day_00.csv"
    f.parent.mkdir()
    text = (H2025 / "cold_start" / "R1" / "day_00.csv").read_text()
    f.write_text(text.replace("schedulingCost", "scheduling"))
    assert not S2025.sniff(read_head(f), f.name)
    with pytest.raises(MissingColumns, match="schedulingCost"):
        ingest_one(S2025, [f])


def test_sniff_accepts_the_fixtures() -> None:
    for f in H2023.rglob("*.csv"):
        assert S2023.sniff(read_head(f), f.name), f
        assert not S2025.sniff(read_head(f), f.name), f
    for f in H2025.rglob("*.csv"):
        assert S2025.sniff(read_head(f), f.name), f
        assert not S2023.sniff(read_head(f), f.name), f


@pytest.mark.parametrize("other", OTHER_SAMPLES)
def test_sniff_rejects_other_samples(shared: Path, other: str) -> None:
    path = shared / other
    head = read_head(path)
    assert not S2023.sniff(head, path.name)
    assert not S2025.sniff(head, path.name)
    # The 2023 sniffer looks at the header too, not only at the day_NNN.csv name.
    assert not S2023.sniff(head, "day_000.csv")
