"""Golden tests for the Philly source (ATC'19).

NOT real data: tests/fixtures/philly/cluster_job_log is a FIXTURE written to the schema
published in msr-fiddle/philly-traces README.md ("cluster_job_log"); its first job is the
README's example entry. No real Philly rows are in ../shared/traces.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.errors import CorruptFile, DataError
from ingest.sources import philly
from ingest.sources.base import read_head
from tests.conftest import FIXTURES, lake_sql

LOG = FIXTURES / "philly" / "cluster_job_log"
OTHER_REAL = (
    "llm_serving/mooncake_fast25/conversation_trace.jsonl",
    "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
    "datacenter/acme_trace/cluster_summary.csv",
    "datacenter/alibaba_gpu_v2023_openb/openb_pod_list_default.csv",
    "datacenter/pwa_swf_kth_sp2/KTH-SP2-1996-2.1-cln.swf.gz",
)
# (job_id suffix, submit, start, end, queue_s, run_s, num_gpus, status, extra), read from the
# fixture by hand; job 14199 is the README example (lines 2-48).
EXPECTED = {
    "14199": (
        "2017-10-07 01:11:39",
        "2017-10-07 01:12:09",
        "2017-10-09 06:53:12",
        30.0,
        2 * 86400 + 5 * 3600 + 41 * 60 + 3.0,
        8.0,
        "ok",
        {"vc": "ee9e8c", "attempts": 2, "gpus_last_attempt": 8, "servers_first_attempt": 1},
    ),
    # Two servers with 8 GPUs each.
    "14301": (
        "2017-10-07 02:00:00",
        "2017-10-07 02:00:20",
        "2017-10-07 02:30:20",
        20.0,
        1800.0,
        16.0,
        "failed",
        {"vc": "0e4a51", "attempts": 1, "gpus_last_attempt": 16, "servers_first_attempt": 2},
    ),
    # Killed before any attempt.
    "14388": (
        "2017-10-07 03:15:00",
        None,
        None,
        None,
        None,
        None,
        "killed",
        {"vc": "ee9e8c", "attempts": 0},
    ),
    # Three attempts: 4 GPUs, then 2+2, then 8; run time spans all of them (10:10 -> 12:45).
    "14517": (
        "2017-10-08 10:00:00",
        "2017-10-08 10:10:00",
        "2017-10-08 12:45:00",
        600.0,
        9300.0,
        4.0,
        "failed",
        {"vc": "b436b2", "attempts": 3, "gpus_last_attempt": 8, "servers_first_attempt": 1},
    ),
    # The attempt's start_time is null (a logging gap, per the README).
    "14600": (
        "2017-10-09 07:00:00",
        None,
        "2017-10-09 08:00:00",
        None,
        None,
        2.0,
        "ok",
        {"vc": "0e4a51", "attempts": 1, "gpus_last_attempt": 2, "servers_first_attempt": 1},
    ),
    # Last attempt without end_time: still running at the snapshot.
    "14733": (
        "2017-12-20 22:59:30",
        "2017-12-20 23:00:00",
        None,
        30.0,
        None,
        4.0,
        "killed",
        {"vc": "ee9e8c", "attempts": 1, "gpus_last_attempt": 4, "servers_first_attempt": 1},
    ),
}


def _jobs(lake_dir: Path) -> dict[str, tuple[object, ...]]:
    fmt = "'%Y-%m-%d %H:%M:%S'"
    rows = lake_sql(
        lake_dir,
        f"SELECT job_id, strftime(submit_ts, {fmt}), strftime(start_ts, {fmt}), "
        f"strftime(end_ts, {fmt}), queue_s, run_s, num_gpus, status, extra FROM jobs",
    )
    return {str(r[0]).rsplit("_", 1)[1]: (*r[1:8], json.loads(str(r[8]))) for r in rows}


def test_fixture(lake_dir: Path, ingest_one) -> None:
    result = ingest_one(philly.SOURCE, [LOG])
    assert result.trace == "philly"
    assert result.tables == {"jobs": 7}
    assert result.rows_rejected == 0
    jobs = _jobs(lake_dir)
    for suffix, expected in EXPECTED.items():
        assert jobs[suffix] == expected, suffix
    common = lake_sql(
        lake_dir, "SELECT DISTINCT cluster, tenant FROM jobs WHERE job_id LIKE '%14199'"
    )
    assert common == [("Philly", "ce2f4c")]
    statuses = lake_sql(lake_dir, "SELECT DISTINCT status_raw, status FROM jobs ORDER BY 1")
    assert statuses == [("Failed", "failed"), ("Killed", "killed"), ("Pass", "ok")]


def test_tiny_chunks_give_the_same_rows(
    monkeypatch: pytest.MonkeyPatch, lake_dir: Path, ingest_one
) -> None:
    # Every record then straddles many buffer refills: the streaming decoder must resume.
    monkeypatch.setattr(philly, "CHUNK_CHARS", 7)
    ingest_one(philly.SOURCE, [LOG])
    jobs = _jobs(lake_dir)
    assert len(jobs) == 7
    assert jobs["14199"] == EXPECTED["14199"]


def test_json_lines_and_gzip(tmp_path: Path, lake_dir: Path, ingest_one) -> None:
    import gzip

    records = json.loads(LOG.read_text())
    path = tmp_path / "cluster_job_log.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    result = ingest_one(philly.SOURCE, [path])
    assert result.trace == "philly"
    assert _jobs(lake_dir)["14517"] == EXPECTED["14517"]


def test_bad_record_is_rejected_with_its_line(tmp_path: Path, lake_dir: Path, ingest_one) -> None:
    text = LOG.read_text().replace('"2017-10-07 02:00:00"', '"yesterday"', 1)
    bad = tmp_path / "cluster_job_log"
    bad.write_text(text)
    result = ingest_one(philly.SOURCE, [bad], max_rejected=1.0)
    assert result.tables == {"jobs": 6}
    # Job 14301 opens with "{" on line 49 of the fixture.
    assert result.examples == [
        f"{bad}, line 49: unparsable-value: 'submitted_time' is 'yesterday'; "
        "expected YYYY-MM-DD HH:MM:SS"
    ]


def test_truncated_file_names_the_line(tmp_path: Path, ingest_one) -> None:
    bad = tmp_path / "cluster_job_log"
    bad.write_text("\n".join(LOG.read_text().splitlines()[:60]))
    # The source raises CorruptFile inside the Arrow stream; DuckDB re-raises it as its own
    # error, which the lake wraps as a DataError that keeps the message (CorruptFile's base).
    with pytest.raises(DataError, match=r"line 60: not valid JSON .* starts on line 49"):
        ingest_one(philly.SOURCE, [bad])


def test_sniff_accepts_the_fixture() -> None:
    assert philly.SOURCE.sniff(read_head(LOG), LOG.name)


@pytest.mark.parametrize("other", OTHER_REAL)
def test_sniff_rejects_other_real_samples(shared: Path, other: str) -> None:
    assert not philly.SOURCE.sniff(read_head(shared / other), Path(other).name)


@pytest.mark.parametrize(
    "fixture", ["acme/trace_seren.csv", "acme/trace_kalos.csv", "helios/Venus/cluster_log.csv"]
)
def test_sniff_rejects_other_gpu_cluster_fixtures(fixture: str) -> None:
    path = FIXTURES / fixture
    assert not philly.SOURCE.sniff(read_head(path), path.name)


def test_truncated_record_raises_corrupt_file(tmp_path: Path) -> None:
    bad = tmp_path / "cluster_job_log"
    bad.write_text("\n".join(LOG.read_text().splitlines()[:60]))
    with philly._open(bad) as f, pytest.raises(CorruptFile, match="starts on line 49"):
        list(philly._elements(bad, f))
