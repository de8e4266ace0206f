"""Derived copies are found by content: Vidur's splitwise_conv.csv against the Azure 2023 trace.

The expectation is derived from the two raw files with the csv module: the same multiset of
(input tokens, output tokens, arrival offset in µs from the first request).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from analysis import lineage, lineage_report
from analysis.db import LakeDB
from ingest.pipeline import ingest_paths

AZURE = "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
VIDUR = "llm_serving/vidur_processed_traces/splitwise_conv.csv"


def azure_rows(path: Path) -> Counter[tuple[int, int, int]]:
    with path.open(newline="") as f:
        rows = [
            # 7 fractional digits: the lake keeps microseconds (the 7th digit is dropped)
            (
                datetime.fromisoformat(r["TIMESTAMP"][:26]),
                int(r["ContextTokens"]),
                int(r["GeneratedTokens"]),
            )
            for r in csv.DictReader(f)
        ]
    first = min(t for t, _, _ in rows)
    return Counter((i, o, (t - first) // _US) for t, i, o in rows)


_US = datetime(2000, 1, 1, 0, 0, 0, 1) - datetime(2000, 1, 1)


def vidur_rows(path: Path) -> Counter[tuple[int, int, int]]:
    with path.open(newline="") as f:
        rows = [
            (
                round(float(r["arrived_at"]) * 1_000_000),
                int(r["num_prefill_tokens"]),
                int(r["num_decode_tokens"]),
            )
            for r in csv.DictReader(f)
        ]
    first = min(t for t, _, _ in rows)
    return Counter((i, o, t - first) for t, i, o in rows)


def test_the_raw_files_hold_the_same_requests(shared: Path) -> None:
    a, v = azure_rows(shared / AZURE), vidur_rows(shared / VIDUR)
    assert sum(a.values()) == sum(v.values()) == 19366
    assert a == v


def test_vidur_splitwise_is_named_a_copy_of_azure(db: LakeDB) -> None:
    copy = lineage.compute(db, "vidur_splitwise_conv")
    original = lineage.compute(db, "azure_llm_2023_conv")
    assert copy is not None and original is not None
    assert (copy.copy_of, copy.copies) == ("azure_llm_2023_conv", ())
    assert (original.copy_of, original.copies) == (None, ("vidur_splitwise_conv",))
    m = copy.matches[0]
    assert (m.rows, m.same_tokens, m.same_arrivals, m.resolution_s) == (19366, 19366, 19366, 1e-6)
    s = lineage_report.section(copy)
    assert s.title == "Derived copy"
    assert s.findings[0].startswith(
        "vidur_splitwise_conv is a derived copy of azure_llm_2023_conv: all 19,366 requests"
    )
    assert s.numbers["copy_of"] == "azure_llm_2023_conv"
    # Other traces are nobody's copy (Mooncake has another row count; arXiv other tokens).
    for trace in ("mooncake_conversation", "vidur_arxiv_summarization", "azure_functions_2021"):
        assert lineage.compute(db, trace) is None


@pytest.fixture
def look_alikes(tmp_path: Path) -> Iterator[LakeDB]:
    """Three 3-request traces: an Azure-format original, a Vidur-format copy of it, and a
    Vidur-format file with the same tokens but other arrival times (not a copy)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "AzureLLMInferenceTrace_conv.csv").write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2023-11-16 18:15:46.0000000,100,10\n"
        "2023-11-16 18:15:47.5000000,200,20\n"
        "2023-11-16 18:15:49.0000000,300,30\n"
    )
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "splitwise_conv.csv").write_text(
        "arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,100,10\n1.5,200,20\n3.0,300,30\n"
    )
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "splitwise_code.csv").write_text(
        "arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,100,10\n2.0,200,20\n3.0,300,30\n"
    )
    report = ingest_paths([tmp_path / "a", tmp_path / "b", tmp_path / "c"], tmp_path / "lake")
    assert not report.failures
    db = LakeDB(tmp_path / "lake")
    yield db
    db.close()


def test_same_tokens_at_other_times_is_not_a_copy(look_alikes: LakeDB) -> None:
    names = look_alikes.traces()
    assert names == ["azure_llm_2023_conv", "vidur_splitwise_code", "vidur_splitwise_conv"]
    copy = lineage.compute(look_alikes, "vidur_splitwise_conv")
    assert copy is not None and copy.copy_of == "azure_llm_2023_conv"
    assert lineage.compute(look_alikes, "vidur_splitwise_code") is None
    m = lineage.compare(look_alikes, "vidur_splitwise_code", "azure_llm_2023_conv")
    assert (m.same_tokens, m.same_arrivals, m.identical) == (3, 2, False)
