"""Vidur processed traces on the real files from microsoft/vidur `data/processed_traces`.

Expected values were read by hand with head/sed/tail/wc on the raw CSVs, or taken from
SOURCE.md; none is computed with the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.detect import looks_like_data
from ingest.errors import MissingColumns
from ingest.sources import SOURCES, vidur_trace
from ingest.sources.base import read_head
from tests.conftest import lake_sql

FOLDER = "llm_serving/vidur_processed_traces"
SPLITWISE = f"{FOLDER}/splitwise_conv.csv"
ARXIV = f"{FOLDER}/arxiv_summarization_stats_llama2_tokenizer_filtered_v2.csv"


def test_splitwise_conversation(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(vidur_trace.SOURCE, [shared / SPLITWISE])
    assert result.trace == "vidur_splitwise_conv"
    assert result.tables == {"requests": 19366}  # 19,367 lines minus the header
    assert result.rows_rejected == 0
    rows = lake_sql(
        lake_dir,
        "SELECT epoch_us(ts), input_tokens, output_tokens, service, kind, status "
        "FROM requests ORDER BY ts LIMIT 2",
    )
    # Lines 2-3: `0.0,374,44` and `4.314579,396,109`: seconds from the first request. The
    # file records no outcome, so no request is `ok`: every status is `unknown`.
    assert rows == [
        (0, 374, 44, "conversation", "conversation", "unknown"),
        (4_314_579, 396, 109, "conversation", "conversation", "unknown"),
    ]
    statuses = "SELECT status, status_raw, count(*) FROM requests GROUP BY ALL"
    assert lake_sql(lake_dir, statuses) == [("unknown", None, 19366)]
    # Last line: `3501.721937,197,183`.
    last = "SELECT epoch_us(ts), input_tokens FROM requests ORDER BY ts DESC LIMIT 1"
    assert lake_sql(lake_dir, last) == [(3_501_721_937, 197)]
    # The same requests as the Azure 2023 conversation trace (Splitwise medians 1020 / 129).
    medians = lake_sql(lake_dir, "SELECT median(input_tokens), median(output_tokens) FROM requests")
    assert medians == [(1020.0, 129.0)]


def test_arxiv_without_timestamps(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(vidur_trace.SOURCE_UNTIMED, [shared / ARXIV])
    assert result.trace == "vidur_arxiv_summarization"
    assert result.tables == {"requests": 28257}  # 28,258 lines minus the header
    assert (result.ts_min, result.ts_max) == (None, None)
    manifest = json.loads((lake_dir / "_manifest" / f"{result.trace}.json").read_text())
    assert manifest["time_resolution_s"] is None
    summary = lake_sql(
        lake_dir,
        "SELECT count(ts), median(input_tokens), median(output_tokens), any_value(kind), "
        "any_value(status), any_value(extra) FROM requests",
    )
    # SOURCE.md: median prefill 2,730 / decode 167 tokens (Llama-2 tokenizer).
    assert summary == [(0, 2730.0, 167.0, "summarization", "unknown", '{"tokenizer":"llama2"}')]
    # Line 2: `3772,54,3826,69.85185185185185`; total and ratio are derivable, so not kept.
    assert lake_sql(
        lake_dir, "SELECT count(*) FROM requests WHERE input_tokens = 3772 AND output_tokens = 54"
    ) == [(1,)]


def test_sniffers_claim_only_their_files(shared: Path) -> None:
    for f in sorted(p for p in shared.rglob("*") if p.is_file() and looks_like_data(p)):
        head = read_head(f)
        assert vidur_trace.SOURCE.sniff(head, f.name) == (f.name == "splitwise_conv.csv"), f
        assert vidur_trace.SOURCE_UNTIMED.sniff(head, f.name) == f.name.startswith("arxiv"), f


@pytest.mark.parametrize("name", ["splitwise_conv.csv", ARXIV.rsplit("/", 1)[1]])
def test_no_other_registered_source_claims_them(shared: Path, name: str) -> None:
    head = read_head(shared / FOLDER / name)
    mine = {vidur_trace.SOURCE.name, vidur_trace.SOURCE_UNTIMED.name}
    assert [s.name for s in SOURCES.values() if s.name not in mine and s.sniff(head, name)] == []


def test_negative_tokens_and_garbage_rejected_with_line(
    tmp_path: Path, lake_dir: Path, ingest_one
) -> None:
    f = tmp_path / "splitwise_code.csv"
    f.write_text(
        "arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,10,2\nsoon,11,3\n1.5,-4,3\n2.0,9,1\n"
    )
    result = ingest_one(vidur_trace.SOURCE, [f], max_rejected=1)
    assert result.trace == "vidur_splitwise_code"
    assert result.tables == {"requests": 2}
    rejected = lake_sql(
        lake_dir,
        f"SELECT line, problem FROM read_parquet('{lake_dir}/_rejected/**/*.parquet') "
        "ORDER BY line",
    )
    assert rejected == [(3, "unparsable-value"), (4, "negative-count")]
    assert lake_sql(lake_dir, "SELECT DISTINCT kind FROM requests") == [("code",)]


def test_missing_column_is_named(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "splitwise_conv.csv"
    f.write_text("arrived_at,num_prefill_tokens\n0.0,10\n")
    with pytest.raises(MissingColumns, match=r"line 1: missing column\(s\) num_decode_tokens"):
        ingest_one(vidur_trace.SOURCE, [f])
