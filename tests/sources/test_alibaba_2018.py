"""Golden tests for Alibaba cluster-trace-v2018 machine_usage (first 100,002 rows) and
machine_meta on the real sample.

Expected values were read by hand from the raw CSVs with grep -n/awk (commands and line numbers
in the comments), never computed by the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.errors import MissingColumns
from ingest.sources import alibaba_2018
from ingest.sources.base import read_head
from tests.conftest import lake_sql

DIR = "datacenter/alibaba_v2018_machine_prefix"
USAGE = f"{DIR}/machine_usage.csv"
META = f"{DIR}/machine_meta.csv"
OTHER_SAMPLES = (
    "datacenter/alibaba_v2017_batch_task/batch_task.csv",
    "datacenter/google_borg_2011/job_events/part-00000-of-00500.csv.gz",
    "datacenter/google_borg_2011/task_events/part-00001-of-00500.csv.gz",
    "datacenter/pwa_swf_kth_sp2/KTH-SP2-1996-2.1-cln.swf.gz",
    "datacenter/alibaba_gpu_v2023_openb/openb_node_list_all_node.csv",
    "datacenter/alibaba_spot_gpu_v2026/node_info_df.csv",
    "datacenter/alibaba_pai_gpu_v2020/pai_machine_spec.tar.gz",
    "serverless/azure_functions_2019_invitro_sample100/memory.csv",
    "vm_interference/alibaba_pai_minibatch_time_2020/job_1_norm.csv",
)
TS = "'%Y-%m-%d %H:%M:%S'"


def _sample(lake_dir: Path, entity: str, ts: str) -> dict[str, tuple[object, ...]]:
    rows = lake_sql(
        lake_dir,
        "SELECT metric, value, unit, extra FROM series "
        f"WHERE entity = '{entity}' AND strftime(ts, {TS}) = '{ts}'",
    )
    return {str(m): (v, u, e) for m, v, u, e in rows}


@pytest.fixture
def usage_lake(shared: Path, lake_dir: Path, ingest_one) -> Path:
    result = ingest_one(alibaba_2018.SOURCE_USAGE, [shared / USAGE])
    assert result.trace == "alibaba_2018_machine_usage"
    # 100,002 lines x 7 metrics, minus the empty mem_gps and mkpi fields: awk counts 78,325
    # empty values in each of columns 5 and 6 -> 700,014 - 156,650 rows.
    assert result.tables == {"series": 543364}
    assert result.rows_rejected == 0
    return lake_dir


def test_usage_long_format(usage_lake: Path) -> None:
    # Line 1: m_1932,386640,41,92,,,43.04,33.08,5 (386640 s = 4 days 11:24:00)
    first = _sample(usage_lake, "m_1932", "1970-01-05 11:24:00")
    assert first == {
        "cpu_util_percent": (41.0, "percent", None),
        "mem_util_percent": (92.0, "percent", None),
        "net_in": (43.04, "normalized_0_100", None),
        "net_out": (33.08, "normalized_0_100", None),
        "disk_io_percent": (5.0, "percent", None),
    }  # empty mem_gps/mkpi: not recorded, so no row
    # Line 1867: m_1932,553290,59,91,0.37,1,46.55,35.92,8 (6 days 09:41:30)
    full = _sample(usage_lake, "m_1932", "1970-01-07 09:41:30")
    assert full["mem_gps"] == (0.37, "normalized_0_100", None)
    assert full["mpki"] == (1.0, "misses_per_1000_instructions", None)
    assert len(full) == 7
    assert lake_sql(usage_lake, "SELECT count(interval_s) FROM series") == [(0,)]


def test_usage_invalid_markers_and_zero_time(usage_lake: Path) -> None:
    # Line 12114: m_1934,212730,72,95,,,37.49,28.09,-1 -> disk_io NULL, marker kept in extra.
    value, _, extra = _sample(usage_lake, "m_1934", "1970-01-03 11:05:30")["disk_io_percent"]
    assert value is None
    assert json.loads(str(extra)) == {"invalid_raw": -1.0}
    # awk on column 9: 6 values of -1 and 10 of 101, the only invalid markers in the sample.
    invalid = lake_sql(
        usage_lake,
        "SELECT metric, extra, count(*) FROM series WHERE value IS NULL GROUP BY ALL ORDER BY 2",
    )
    assert invalid == [
        ("disk_io_percent", '{"invalid_raw":-1.0}', 6),
        ("disk_io_percent", '{"invalid_raw":101.0}', 10),
    ]
    # Line 31136: m_1937,0,12,89,,,35.87,26.49,31 -> time 0 (outside the window): ts NULL.
    assert lake_sql(
        usage_lake, "SELECT entity, count(*) FROM series WHERE ts IS NULL GROUP BY 1"
    ) == [("m_1937", 5)]


def test_machine_meta_capacities(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(alibaba_2018.SOURCE_META, [shared / META])
    assert result.trace == "alibaba_2018_machine_meta"
    # `cut -d, -f1 machine_meta.csv | sort -u | wc -l` -> 4034 machines, 2 metrics each.
    assert result.tables == {"summaries": 2 * 4034}
    rows = lake_sql(
        lake_dir,
        "SELECT metric, stat, value, unit, count, extra FROM summaries "
        "WHERE entity = 'm_2739' ORDER BY metric",
    )
    # Lines 8311-8315: m_2739,<time>,6,6,96,100,IMPORT_INSTALLING (5 records).
    extra = '{"failure_domain_1":6,"failure_domain_2":"6","statuses":["IMPORT_INSTALLING"]}'
    assert rows == [
        ("cpus", "capacity", 96.0, "cores", 5, extra),
        ("mem_normalized", "capacity", 100.0, "normalized_0_100", 5, extra),
    ]
    # `grep -c '^m_1,'` -> 8 records; every record of the file says 96 cores, 100 memory.
    assert lake_sql(lake_dir, "SELECT count FROM summaries WHERE entity = 'm_1'") == [(8,), (8,)]
    assert lake_sql(lake_dir, "SELECT DISTINCT value FROM summaries WHERE metric = 'cpus'") == [
        (96.0,)
    ]


def test_sniff(shared: Path) -> None:
    usage, meta = shared / USAGE, shared / META
    assert alibaba_2018.SOURCE_USAGE.sniff(read_head(usage), usage.name)
    assert alibaba_2018.SOURCE_META.sniff(read_head(meta), meta.name)
    assert not alibaba_2018.SOURCE_USAGE.sniff(read_head(meta), meta.name)
    assert not alibaba_2018.SOURCE_META.sniff(read_head(usage), usage.name)


@pytest.mark.parametrize("other", OTHER_SAMPLES)
def test_sniff_rejects_other_samples(shared: Path, other: str) -> None:
    path = shared / other
    head = read_head(path)
    assert not alibaba_2018.SOURCE_USAGE.sniff(head, path.name)
    assert not alibaba_2018.SOURCE_META.sniff(head, path.name)


def test_garbage_value_is_rejected_with_its_line(
    tmp_path: Path, lake_dir: Path, ingest_one
) -> None:
    path = tmp_path / "machine_usage.csv"
    path.write_text(
        "m_1,10,41,92,,,43.04,33.08,5\nm_1,20,high,92,,,43.04,33.08,5\nm_1,30,40,90,,,1,2,3\n"
    )
    result = ingest_one(alibaba_2018.SOURCE_USAGE, [path], max_rejected=1.0)
    assert result.rows_rejected == 1
    assert (
        "line 2: unparsable-value: cpu_util_percent: 'high' is not a number" in (result.examples[0])
    )


def test_wrong_field_count_is_missing_columns(tmp_path: Path, ingest_one) -> None:
    path = tmp_path / "machine_meta.csv"
    path.write_text("m_1,0,219,17,96,100\n")
    with pytest.raises(MissingColumns, match=r"line 1: 6 field\(s\) .* needs 7"):
        ingest_one(alibaba_2018.SOURCE_META, [path])
