"""Alibaba GenTD26 on the real files from alibaba/clusterdata `cluster-trace-v2026-GenAI`.

Expected values were read by hand (head/sed/grep on the CSV, `tar xzOf ... | head` on the
archives) or taken from SOURCE.md; none is computed with the code under test.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from ingest.detect import looks_like_data
from ingest.errors import MissingColumns
from ingest.sources import SOURCES, alibaba_genai_2026
from ingest.sources.base import read_head
from tests.conftest import lake_sql

FOLDER = "llm_serving/alibaba_genai_gentd26"
REQUESTS = f"{FOLDER}/lora_request_trace.csv"
ARCHIVES = (
    "basemodel_update_latency_anon.tar.gz",
    "lora_update_latency_anon.tar.gz",
    "model_predict_data_anon.tar.gz",
)


def test_requests(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(alibaba_genai_2026.SOURCE, [shared / REQUESTS])
    assert result.trace == "alibaba_genai_2026"
    assert result.tables == {"requests": 26823}  # 26,824 lines minus the header
    assert result.rows_rejected == 0
    # SOURCE.md: SUCCEED 26,392, FAILED 398, PENDING 30, PROCESSING 3.
    statuses = lake_sql(
        lake_dir,
        "SELECT status_raw, status, count(*), count(duration_s) FROM requests "
        "GROUP BY ALL ORDER BY 1",
    )
    assert statuses == [
        ("FAILED", "failed", 398, 398),
        ("PENDING", "unknown", 30, 0),
        ("PROCESSING", "unknown", 3, 0),
        ("SUCCEED", "ok", 26392, 26392),
    ]
    # Line 2: 2024-11-15 16:57:50,TXT_2_IMG,SUCCEED,32.0,G0000,63.0,26.0,1.0,30.0,M0000,0
    first = lake_sql(
        lake_dir,
        "SELECT strftime(ts, '%Y-%m-%d %H:%M:%S'), kind, duration_s, tenant, service, "
        "input_tokens, extra FROM requests ORDER BY ts LIMIT 1",
    )
    assert first == [
        (
            "2024-11-15 16:57:50",
            "TXT_2_IMG",
            32.0,
            "G0000",
            "M0000",
            None,  # prompt lengths are characters, not tokens
            '{"steps":30,"num_lora":0,"images_per_prompt":1,"prompt_chars":63,'
            '"negative_prompt_chars":26}',
        )
    ]
    # Line 22918: 2024-12-05 00:30:12,TXT_2_IMG,PROCESSING,43.0,G3745,61.0,26.0,8.0,30.0,M0011,0
    # The request had not finished: its elapsed time is kept in extra, not as a duration.
    unfinished = lake_sql(
        lake_dir,
        "SELECT duration_s, extra->>'exec_time_seconds', extra->>'images_per_prompt' "
        "FROM requests WHERE ts = '2024-12-05 00:30:12+00' AND tenant = 'G3745'",
    )
    assert unfinished == [(None, "43.0", "8")]
    # SOURCE.md: max exec_time 567 s; span 2024-11-15..2024-12-08.
    assert lake_sql(lake_dir, "SELECT max(duration_s) FROM requests") == [(567.0,)]
    assert result.ts_max == "2024-12-08T17:33:57.000000Z"


def test_metric_archives(shared: Path, lake_dir: Path, ingest_one) -> None:
    files = [shared / FOLDER / a for a in ARCHIVES]
    result = ingest_one(alibaba_genai_2026.SOURCE_METRICS, files)
    assert result.trace == "alibaba_genai_2026_metrics"
    # SOURCE.md: 7,532 / 27,416 / 6,255 lines including the header.
    assert result.tables == {"series": 7531 + 27415 + 6254}
    counts = lake_sql(
        lake_dir,
        "SELECT metric, unit, count(*), min(interval_s) FROM series GROUP BY ALL ORDER BY 1",
    )
    assert counts == [
        ("basemodel_update_latency", "s", 7531, 57.0),
        ("inference_latency", "s", 6254, 57.0),
        ("lora_update_latency", "s", 27415, 57.0),
    ]
    # basemodel line 2: 1662859290.0,2639.0,086b31f81b1cf0f15e43fe568e3fb8e4 (ms -> s)
    row = lake_sql(
        lake_dir,
        "SELECT epoch(ts), value FROM series WHERE metric = 'basemodel_update_latency' "
        "AND entity = '086b31f81b1cf0f15e43fe568e3fb8e4' ORDER BY ts LIMIT 1",
    )
    assert row == [(1662859290.0, pytest.approx(2.639))]
    # model_predict line 3: 1662859347.0,12773.5,0b6beb4d383cbd13d128b205a7b09313
    row = lake_sql(
        lake_dir,
        "SELECT value FROM series WHERE metric = 'inference_latency' AND "
        "entity = '0b6beb4d383cbd13d128b205a7b09313' AND epoch(ts) = 1662859347",
    )
    assert row == [(pytest.approx(12.7735),)]


def _tar(path: Path, member: str, text: str) -> Path:
    data = text.encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_other_release_archive_units_and_bad_rows(
    tmp_path: Path, lake_dir: Path, ingest_one
) -> None:
    # Not a real file: a few rows in the published schema of pod_gpu_memory_used_bytes_anon
    # (alibaba/clusterdata cluster-trace-v2026-GenAI/README.md: value in bytes, "NULL" = no ip).
    archive = _tar(
        tmp_path / "pod_gpu_memory_used_bytes_anon.tar.gz",
        "pod_gpu_memory_used_bytes_anon.csv",
        "timestamp_anon,value,container_ip\n"
        "1662859290.0,2147483648,abc\n"
        "1662859347.0,lots,abc\n"
        "1662859404.0,1073741824,NULL\n"
        "1662859461.0,1,2,3\n",
    )
    assert alibaba_genai_2026.SOURCE_METRICS.sniff(read_head(archive), archive.name)
    result = ingest_one(alibaba_genai_2026.SOURCE_METRICS, [archive], max_rejected=1)
    rows = lake_sql(lake_dir, "SELECT metric, unit, value, entity FROM series ORDER BY ts")
    assert rows == [("gpu_mem_gb", "GB", 2.0, "abc"), ("gpu_mem_gb", "GB", 1.0, None)]
    assert result.problems == {"unparsable-value": 1, "wrong-column-count": 1}
    rejected = lake_sql(
        lake_dir,
        f"SELECT line, problem, file FROM read_parquet('{lake_dir}/_rejected/**/*.parquet') "
        "ORDER BY line",
    )
    where = f"{archive}:pod_gpu_memory_used_bytes_anon.csv"
    assert rejected == [(3, "unparsable-value", where), (5, "wrong-column-count", where)]


def test_archive_with_wrong_header(tmp_path: Path, ingest_one) -> None:
    archive = _tar(tmp_path / "qps.tar.gz", "qps.csv", "timestamp_anon,qps,container_ip\n1,2,3\n")
    with pytest.raises(MissingColumns, match=r"qps\.csv, line 1: missing column\(s\) value"):
        ingest_one(alibaba_genai_2026.SOURCE_METRICS, [archive])


def test_sniffers_claim_only_their_files(shared: Path) -> None:
    for f in sorted(p for p in shared.rglob("*") if p.is_file() and looks_like_data(p)):
        head = read_head(f)
        is_request_trace = f.name == "lora_request_trace.csv"
        assert alibaba_genai_2026.SOURCE.sniff(head, f.name) == is_request_trace, f
        assert alibaba_genai_2026.SOURCE_METRICS.sniff(head, f.name) == (f.name in ARCHIVES), f


def test_no_other_registered_source_claims_them(shared: Path) -> None:
    mine = {alibaba_genai_2026.SOURCE.name, alibaba_genai_2026.SOURCE_METRICS.name}
    others = [s for s in SOURCES.values() if s.name not in mine]
    for name in ("lora_request_trace.csv", *ARCHIVES):
        head = read_head(shared / FOLDER / name)
        assert [s.name for s in others if s.sniff(head, name)] == [], name


def test_missing_request_column_is_named(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "lora_request_trace.csv"
    f.write_text(
        "gmt_create,predict_type,predict_status,groupId,checkpoint_model_version_id\n"
        "2024-11-15 16:57:50,TXT_2_IMG,SUCCEED,G0000,M0000\n"
    )
    with pytest.raises(MissingColumns, match=r"missing column\(s\) exec_time_seconds"):
        ingest_one(alibaba_genai_2026.SOURCE, [f])
