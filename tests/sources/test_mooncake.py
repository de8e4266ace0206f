"""Mooncake on the real FAST'25 conversation trace.

Expected values read by hand: `head -1` of the file and the dataset README's table
(12,031 requests, mean input 12,035, mean output 343).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from ingest.errors import CorruptFile
from ingest.sources import mooncake
from tests.conftest import lake_sql

CONV = "llm_serving/mooncake_fast25/conversation_trace.jsonl"


def test_conversation_trace(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(mooncake.SOURCE, [shared / CONV])
    assert result.trace == "mooncake_conversation"
    assert result.tables == {"requests": 12031}
    assert result.rows_rejected == 0
    mean_in, mean_out = lake_sql(
        lake_dir, "SELECT avg(input_tokens), avg(output_tokens) FROM requests"
    )[0]
    assert round(mean_in) == 12035 and round(mean_out) == 343
    # Line 1: {"timestamp": 0, "input_length": 6758, "output_length": 500, "hash_ids": [0..13]}
    first = lake_sql(
        lake_dir,
        "SELECT epoch_ms(ts), input_tokens, output_tokens, hash_ids, hash_block_tokens, kind "
        "FROM requests WHERE input_tokens = 6758 AND output_tokens = 500",
    )
    assert first == [(0, 6758, 500, list(range(14)), 512, "conversation")]
    # SOURCE.md: the trace spans 0..3,536,999 ms.
    assert lake_sql(lake_dir, "SELECT max(epoch_ms(ts)) FROM requests") == [(3536999,)]
    # No field records an outcome: every request's status is `unknown`, never `ok`.
    statuses = "SELECT status, status_raw, count(*) FROM requests GROUP BY ALL"
    assert lake_sql(lake_dir, statuses) == [("unknown", None, 12031)]
    # Every request's blocks cover its input: len(hash_ids) * 512 >= input_length.
    short = "SELECT count(*) FROM requests WHERE len(hash_ids) * 512 < input_tokens"
    assert lake_sql(lake_dir, short) == [(0,)]


def test_truncated_gzip_names_the_line(shared: Path, tmp_path: Path, ingest_one) -> None:
    data = gzip.compress((shared / CONV).read_bytes())
    broken = tmp_path / "conversation_trace.jsonl.gz"
    broken.write_bytes(data[: len(data) // 3])
    with pytest.raises(
        CorruptFile,
        match=r"conversation_trace\.jsonl\.gz: the file cannot be read to the end: "
        r"the compressed stream ends after line \d+",
    ):
        ingest_one(mooncake.SOURCE, [broken])
