"""Golden tests for Azure Functions 2019 on the real invitro 100-function sample.

Expected values were read by hand from the raw files with sed/awk (the line is named in each
comment), not computed by the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import MissingColumns
from ingest.sources import azure_functions_2019
from ingest.sources.base import read_head
from tests.conftest import lake_sql

SAMPLE = "serverless/azure_functions_2019_invitro_sample100"
SOURCE = azure_functions_2019.SOURCE
TS = "strftime(ts, '%Y-%m-%d %H:%M:%S')"

OTHER_SAMPLES = (
    "serverless/azure_functions_2021/AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv",
    "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
    "llm_serving/mooncake_fast25/conversation_trace.jsonl",
    "llm_serving/vidur_processed_traces/splitwise_conv.csv",
    "datacenter/alibaba_v2018_machine_prefix/machine_usage.csv",
    "datacenter/alibaba_gpu_v2023_openb/openb_pod_list_default.csv",
    "datacenter/google_borg_2011/job_events/part-00000-of-00500.csv.gz",
    "datacenter/acme_trace/cluster_summary.csv",
    "vm_interference/alibaba_pai_minibatch_time_2020/job_1_norm.csv",
)


@pytest.fixture
def sample_files(shared: Path) -> list[Path]:
    return [shared / SAMPLE / n for n in ("invocations.csv", "durations.csv", "memory.csv")]


def test_sample_is_one_trace(sample_files: list[Path], lake_dir: Path, ingest_one) -> None:
    assert {SOURCE.default_trace(f) for f in sample_files} == {"azure_functions_2019"}
    result = ingest_one(SOURCE, sample_files)
    # 100 functions x 480 minutes = 48,000 cells, of which 11,485 are > 0 (awk over
    # invocations.csv); durations and memory have 100 rows each (101 lines with the header),
    # 11 statistics per duration row, 10 per memory row.
    assert result.tables == {"series": 11485, "summaries": 100 * 11 + 100 * 10}
    assert result.rows_rejected == 0


def test_invocations(sample_files: list[Path], lake_dir: Path, ingest_one) -> None:
    ingest_one(SOURCE, sample_files)
    # Line 2: ...,b9386d10...,timer,0,1,0,... -> minute 481 (column 6) has 1 invocation;
    # minute m of day 1 starts m-1 minutes after midnight.
    first = lake_sql(
        lake_dir,
        f"SELECT {TS}, interval_s, tenant, service, kind, metric, value, unit FROM series "
        "WHERE entity LIKE 'b9386d10%' ORDER BY ts LIMIT 1",
    )
    assert first == [
        (
            "1970-01-01 08:00:00",
            60.0,
            "fd8a2430aa1d1b6fb9e059ff6268eabf8bbd77e68a6d5f38195a67820149b0ab",
            "899e52e49d4eac730770abb2372f077a7810d32d0ab6c344515b7cb808c9d802",
            "timer",
            "invocations",
            1.0,
            "count",
        )
    ]
    # awk: line 2 has 95 non-zero minutes.
    assert lake_sql(lake_dir, "SELECT count(*) FROM series WHERE entity LIKE 'b9386d10%'") == [
        (95,)
    ]
    # Largest cell (awk): line 21, column 394, header "869", value 734, function 7017de4f, http.
    top = lake_sql(lake_dir, f"SELECT entity, kind, {TS}, value FROM series ORDER BY value DESC")
    assert top[0] == (
        "7017de4ffed83d70238483df8a219da83506626ad472d22b8cc186fde46530b6",
        "http",
        "1970-01-01 14:28:00",
        734.0,
    )
    # awk sum of every minute cell; window is minutes 480..959 as given in the header.
    span = lake_sql(lake_dir, f"SELECT sum(value), min({TS}), max({TS}) FROM series")
    assert span == [(339657.0, "1970-01-01 07:59:00", "1970-01-01 15:58:00")]
    # SOURCE.md: triggers timer 44, http 36, queue 13, orchestration 5, event 1, storage 1.
    triggers = lake_sql(
        lake_dir, "SELECT kind, count(DISTINCT entity) FROM series GROUP BY kind ORDER BY 2 DESC"
    )
    assert {kind: n for kind, n in triggers} == {
        "timer": 44,
        "http": 36,
        "queue": 13,
        "orchestration": 5,
        "event": 1,
        "storage": 1,
    }


def test_durations_in_seconds(sample_files: list[Path], lake_dir: Path, ingest_one) -> None:
    ingest_one(SOURCE, sample_files)
    # durations.csv line 2: 98f3fe1d..,3f9fb0df..,1948876d..,71,288,0.0,1458.0,0,0,0,0,1,1265,1458
    rows = lake_sql(
        lake_dir,
        "SELECT stat, value, unit, count, left(tenant, 8), left(service, 8), extra FROM summaries "
        "WHERE metric = 'duration_s' AND entity LIKE '1948876d%'",
    )
    stats = {r[0]: r[1] for r in rows}
    assert stats == {
        "mean": 0.071,
        "count": 288.0,
        "min": 0.0,
        "max": 1.458,
        "p0": 0.0,
        "p1": 0.0,
        "p25": 0.0,
        "p50": 0.0,
        "p75": 0.001,
        "p99": 1.265,
        "p100": 1.458,
    }
    assert {r[2] for r in rows if r[0] != "count"} == {"s"}
    assert {(r[3], r[4], r[5], r[6]) for r in rows} == {(288, "98f3fe1d", "3f9fb0df", '{"day":1}')}


def test_memory_in_gb(sample_files: list[Path], lake_dir: Path, ingest_one) -> None:
    ingest_one(SOURCE, sample_files)
    # memory.csv line 2 (HashFunction first in the sampler's file): 17e24635..,69b740be..,
    # 9fdfb64b..,22209,9.416666666666666,7.833333333333333,...,10.666666666666666 (MB)
    rows = lake_sql(
        lake_dir,
        "SELECT stat, value, unit, count, left(tenant, 8), left(service, 8), extra FROM summaries "
        "WHERE metric = 'mem_gb' AND entity LIKE '17e24635%' ORDER BY stat",
    )
    stats = {r[0]: r[1] for r in rows}
    assert set(stats) == {"mean", "count", "p1", "p5", "p25", "p50", "p75", "p95", "p99", "p100"}
    assert stats["count"] == 22209
    assert stats["mean"] == pytest.approx(9.416666666666666 / 1024)
    assert stats["p1"] == pytest.approx(7.833333333333333 / 1024)
    assert stats["p100"] == pytest.approx(10.666666666666666 / 1024)
    assert {(r[3], r[4], r[5]) for r in rows} == {(22209, "69b740be", "9fdfb64b")}
    assert {r[2] for r in rows if r[0] != "count"} == {"GB"}
    assert rows[0][6] == '{"day":1,"scope":"function_share_of_app"}'


def _release_files(folder: Path) -> list[Path]:
    """Day 3 of the original release, in its file names and shapes (minute columns 1..3 of 1440)."""
    inv = folder / "invocations_per_function_md.anon.d03.csv"
    inv.write_text(
        "HashOwner,HashApp,HashFunction,Trigger,1,2,3\no1,a1,f1,http,2,0,5\no1,a1,f2,queue,0,0,1\n"
    )
    dur = folder / "function_durations_percentiles.anon.d03.csv"
    dur.write_text(
        "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,"
        "percentile_Average_1,percentile_Average_25,percentile_Average_50,"
        "percentile_Average_75,percentile_Average_99,percentile_Average_100\n"
        "o1,a1,f1,250,7,100,900,100,110,200,240,300,880,900\n"
    )
    mem = folder / "app_memory_percentiles.anon.d03.csv"
    mem.write_text(
        "HashOwner,HashApp,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,"
        "AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,AverageAllocatedMb_pct50,"
        "AverageAllocatedMb_pct75,AverageAllocatedMb_pct95,AverageAllocatedMb_pct99,"
        "AverageAllocatedMb_pct100\n"
        "o1,a1,40,256,128,128,192,256,300,400,500,512\n"
    )
    return [inv, dur, mem]


def test_release_file_names_put_day_in_timestamp(
    tmp_path: Path, lake_dir: Path, ingest_one
) -> None:
    files = _release_files(tmp_path)
    assert all(SOURCE.sniff(read_head(f), f.name) for f in files)
    assert {SOURCE.default_trace(f) for f in files} == {"azure_functions_2019"}
    result = ingest_one(SOURCE, files)
    assert result.tables == {"series": 3, "summaries": 11 + 10}
    # Day 3 starts two days after the epoch; minute 1 is 00:00.
    series = lake_sql(lake_dir, f"SELECT entity, {TS}, value FROM series ORDER BY entity, ts")
    assert series == [
        ("f1", "1970-01-03 00:00:00", 2.0),
        ("f1", "1970-01-03 00:02:00", 5.0),
        ("f2", "1970-01-03 00:02:00", 1.0),
    ]
    # The original memory file is per app: the app is the entity.
    mem = lake_sql(
        lake_dir,
        "SELECT entity, service, value, extra FROM summaries WHERE metric = 'mem_gb' "
        "AND stat = 'p100'",
    )
    assert mem == [("a1", "a1", 0.5, '{"day":3,"scope":"app"}')]
    dur = lake_sql(
        lake_dir, "SELECT value, extra FROM summaries WHERE metric = 'duration_s' AND stat = 'p50'"
    )
    assert dur == [(0.24, '{"day":3}')]


def test_negative_count_is_rejected_with_its_line(
    tmp_path: Path, lake_dir: Path, ingest_one
) -> None:
    f = tmp_path / "invocations_per_function_md.anon.d01.csv"
    f.write_text(
        "HashOwner,HashApp,HashFunction,Trigger,1,2\no1,a1,f1,http,1,2\no1,a1,f2,timer,-3,1\n"
    )
    result = ingest_one(SOURCE, [f], max_rejected=1.0)
    assert result.tables == {"series": 2}
    assert result.rows_rejected == 1
    assert result.problems == {"negative-count": 1}
    assert f"{f}, line 3" in result.examples[0]


def test_missing_column_names_it(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "app_memory_percentiles.anon.d01.csv"
    f.write_text("HashOwner,HashApp,SampleCount,AverageAllocatedMb_pct1\no1,a1,4,128\n")
    with pytest.raises(MissingColumns, match="AverageAllocatedMb"):
        ingest_one(SOURCE, [f])


def test_sniff_accepts_the_sample(sample_files: list[Path]) -> None:
    assert all(SOURCE.sniff(read_head(f), f.name) for f in sample_files)


@pytest.mark.parametrize("other", OTHER_SAMPLES)
def test_sniff_rejects_other_samples(shared: Path, other: str) -> None:
    path = shared / other
    assert not SOURCE.sniff(read_head(path), path.name)
