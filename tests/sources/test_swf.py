"""Golden tests for the SWF source on the real KTH-SP2 log of the Parallel Workloads Archive.

Expected values were read by hand from the raw log with zcat/grep -n/awk and `date -u -d @...`
(line numbers of the decompressed file in the comments), never computed by the code under test.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ingest.sources import swf
from ingest.sources.base import read_head
from tests.conftest import lake_sql

KTH = "datacenter/pwa_swf_kth_sp2/KTH-SP2-1996-2.1-cln.swf.gz"
OTHER_SAMPLES = (
    "datacenter/alibaba_v2017_batch_task/batch_task.csv",
    "datacenter/alibaba_v2018_machine_prefix/machine_usage.csv",
    "datacenter/google_borg_2011/job_events/part-00000-of-00500.csv.gz",
    "datacenter/google_borg_2011/task_events/part-00001-of-00500.csv.gz",
    "datacenter/alibaba_gpu_v2025_dlrm/disaggregated_DLRM_trace.csv",
    "datacenter/alibaba_pai_gpu_v2020/pai_job_table.header",
    "llm_serving/mooncake_fast25/conversation_trace.jsonl",
    "llm_serving/vidur_processed_traces/splitwise_conv.csv",
    "vm_interference/alibaba_pai_minibatch_time_2020/coefficient_variation.csv",
)
TS = "'%Y-%m-%d %H:%M:%S'"


def _job(lake_dir: Path, job_id: str) -> tuple[object, ...]:
    rows = lake_sql(
        lake_dir,
        f"SELECT strftime(submit_ts, {TS}), strftime(start_ts, {TS}), strftime(end_ts, {TS}), "
        "queue_s, run_s, num_cpus, mem_gb, tenant, status, status_raw, extra "
        f"FROM jobs WHERE job_id = '{job_id}'",
    )
    assert len(rows) == 1
    return rows[0]


@pytest.fixture
def lake(shared: Path, lake_dir: Path, ingest_one) -> Path:
    result = ingest_one(swf.SOURCE, [shared / KTH])
    assert result.trace == "swf_kth_sp2_1996_2_1_cln"
    # `zcat | grep -vc '^;'` -> 27,992 jobs (SOURCE.md: 28,490 minus cleaning), 2 capacities.
    assert result.tables == {"jobs": 27992, "summaries": 2}
    assert result.rows_rejected == 0
    return lake_dir


def test_times_are_anchored_at_unix_start_time(lake: Path) -> None:
    # Header: "; UnixStartTime: 843480031" (= StartTime Mon Sep 23 14:00:31 CEST 1996).
    # Line 25: "15 599850 192180 3477 4 -1 -1 4 53940 -1 1 12 12 -1 ..."
    # date -u -d @$((843480031+599850)) -> Mon Sep 30 10:38:01 UTC 1996.
    submit, start, end, queue_s, run_s, cpus, mem, tenant, status, raw, extra = _job(lake, "15")
    assert (submit, start, end) == (
        "1996-09-30 10:38:01",
        "1996-10-02 16:01:01",
        "1996-10-02 16:58:58",
    )
    assert (queue_s, run_s, cpus, mem, tenant) == (192180.0, 3477.0, 4.0, None, "12")
    assert (status, raw) == ("ok", "1")
    fields = json.loads(str(extra))
    assert (fields["req_time_s"], fields["group_id"], fields["queue"]) == (53940.0, 12, None)
    # Last line (28016): "28490 29363618 720 8 1 -1 -1 1 30000 -1 1 98 198 ..."
    assert _job(lake, "28490")[:3] == (
        "1997-08-29 08:34:09",
        "1997-08-29 08:46:09",
        "1997-08-29 08:46:17",
    )


def test_status_and_processors(lake: Path) -> None:
    # awk '{print $11}' over the job lines: status 1 = 20,483, status 0 = 7,509.
    rows = lake_sql(lake, "SELECT status, status_raw, count(*) FROM jobs GROUP BY ALL ORDER BY 1")
    assert rows == [("failed", "0", 7509), ("ok", "1", 20483)]
    # Line 27: "17 600476 364560 215337 5 -1 -1 5 215400 -1 0 14 ..." -> failed.
    assert _job(lake, "17")[8:10] == ("failed", "0")
    # Line 15208: job 15395 got 8 processors but asked for 7: num_cpus is the request.
    cpus, extra = _job(lake, "15395")[5], _job(lake, "15395")[10]
    assert cpus == 7.0
    assert json.loads(str(extra))["alloc_procs"] == 8


def test_header_capacities(lake: Path) -> None:
    # "; Computer: IBM SP2", "; MaxNodes: 100", "; MaxProcs: 100"
    rows = lake_sql(lake, "SELECT entity, metric, stat, value, unit FROM summaries ORDER BY 2")
    assert rows == [
        ("IBM SP2", "cpus", "capacity", 100.0, "processors"),
        ("IBM SP2", "nodes", "capacity", 100.0, "nodes"),
    ]


def test_sniff(shared: Path) -> None:
    path = shared / KTH
    assert swf.SOURCE.sniff(read_head(path), path.name)


@pytest.mark.parametrize("other", OTHER_SAMPLES)
def test_sniff_rejects_other_samples(shared: Path, other: str) -> None:
    path = shared / other
    assert not swf.SOURCE.sniff(read_head(path), path.name)


# A small log in the SWF layout (no UnixStartTime, so times are relative), written for the
# status codes and bad lines the KTH log does not have.
SMALL = """; Version: 2.2
; MaxProcs: 16
1 0 10 100 2 -1 -1 2 200 1048576 2 1 1 -1 3 1 -1 -1
2 5 0 50 2 -1 -1 2 200 -1 3 1 1 -1 3 1 -1 -1
3 6 0 50 2 -1 -1 -1 200 -1 4 1 1 -1 3 1 -1 -1
4 7 -1 -1 2 -1 -1 2 200 -1 5 1 1 -1 3 1 -1 -1
5 8 0 1 2 -1 -1 2 200 -1 -1 1 1 -1 3 1 -1
6 9 0 1 2 -1 -1 2 200 -1 x 1 1 -1 3 1 -1 -1
7 10 0 1 2 -1 -1 2 200 -1 -1 1 1 -1 3 1 -1 -1
"""


def test_status_codes_and_bad_lines(tmp_path: Path, lake_dir: Path, ingest_one) -> None:
    path = tmp_path / "small.swf.gz"
    with gzip.open(path, "wt") as f:
        f.write(SMALL)
    assert swf.SOURCE.sniff(read_head(path), path.name)
    result = ingest_one(swf.SOURCE, [path], max_rejected=1.0)
    assert result.tables == {"jobs": 5, "summaries": 1}
    assert [e.split(": ", 1)[1] for e in result.examples] == [
        "wrong-column-count: 17 fields, expected 18",
        "unparsable-value: status: 'x' is not a number",
    ]
    assert [e.split(", ")[1].split(":")[0] for e in result.examples] == ["line 7", "line 8"]
    rows = lake_sql(
        lake_dir,
        "SELECT job_id, status, status_raw, strftime(start_ts, '%H:%M:%S'), run_s, num_cpus, "
        "mem_gb, cluster FROM jobs ORDER BY job_id",
    )
    assert rows == [
        # 1 GiB (1048576 KB) per processor x 2 processors; partition 1 is the cluster.
        ("1", "unknown", "2", "00:00:10", 100.0, 2.0, 2.0, "1"),
        ("2", "ok", "3", "00:00:05", 50.0, 2.0, None, "1"),
        # Requested processors unknown: the allocated ones count.
        ("3", "failed", "4", "00:00:06", 50.0, 2.0, None, "1"),
        ("4", "cancelled", "5", None, None, 2.0, None, "1"),
        ("7", "unknown", None, "00:00:10", 1.0, 2.0, None, "1"),
    ]


def test_a_log_without_unix_start_time_is_relative(
    shared: Path, tmp_path: Path, lake_dir: Path, ingest_one
) -> None:
    # The real log's first 50 jobs with every header line but UnixStartTime: its times count
    # from 1970 and the manifest must say so, or analyses would read them as dates.
    with gzip.open(shared / KTH, "rt") as f:
        lines = f.read().splitlines(keepends=True)
    header = [x for x in lines if x.startswith(";") and "UnixStartTime" not in x]
    jobs = [x for x in lines if x.strip() and not x.startswith(";")][:50]
    log = tmp_path / "nostart.swf"
    log.write_text("".join(header + jobs))
    result = ingest_one(swf.SOURCE, [log], trace="nostart")
    assert result.tables["jobs"] == 50
    manifest = json.loads((lake_dir / "_manifest/nostart.json").read_text())
    assert manifest["time_origin"] == "relative"
    assert manifest["records"] == 50
