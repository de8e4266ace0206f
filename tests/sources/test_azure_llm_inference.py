"""Golden tests for the Azure LLM inference sources on the real 2023 sample.

Expected values were read by hand from the raw file (head/tail of the CSV), not computed by
the code under test.
"""

from __future__ import annotations

from pathlib import Path

from ingest.sources import azure_llm_inference
from tests.conftest import lake_sql

CONV_2023 = "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"


def test_2023_conversation_sample(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(azure_llm_inference.SOURCE_2023, [shared / CONV_2023])
    assert result.trace == "azure_llm_2023_conv"
    assert result.tables == {"requests": 19366}  # 19,367 lines minus the header
    assert result.rows_rejected == 0
    first = lake_sql(
        lake_dir,
        "SELECT strftime(ts, '%Y-%m-%d %H:%M:%S.%f'), input_tokens, output_tokens, service, "
        "kind, status FROM requests ORDER BY ts LIMIT 1",
    )
    # Line 2 of the file: 2023-11-16 18:15:46.6805900,374,44 (7th digit dropped: µs). The file
    # records no outcome, so the status is `unknown`, never `ok`.
    assert first == [
        ("2023-11-16 18:15:46.680590", 374, 44, "conversation", "conversation", "unknown")
    ]
    statuses = "SELECT status, status_raw, count(*) FROM requests GROUP BY ALL"
    assert lake_sql(lake_dir, statuses) == [("unknown", None, 19366)]
    # Splitwise (ISCA'24) reports conversation medians of 1020 input / 129 output tokens.
    medians = lake_sql(lake_dir, "SELECT median(input_tokens), median(output_tokens) FROM requests")
    assert medians == [(1020.0, 129.0)]


def test_2024_mixed_zoned_timestamps(tmp_path: Path, lake_dir: Path, ingest_one) -> None:
    # Shape of the 2024 release (its notebook shows both forms); no real rows exist here.
    f = tmp_path / "AzureLLMInferenceTrace_code_1week.csv"
    f.write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2024-05-10 00:00:00.009930+00:00,2048,28\n"
        "2024-05-12 00:00:00+00:00,4096,7\n"
    )
    assert azure_llm_inference.SOURCE_2024.sniff(f.read_bytes(), f.name)
    assert not azure_llm_inference.SOURCE_2023.sniff(f.read_bytes(), f.name)
    result = ingest_one(azure_llm_inference.SOURCE_2024, [f])
    assert result.trace == "azure_llm_2024_code"
    rows = lake_sql(lake_dir, "SELECT epoch_us(ts), service, status FROM requests ORDER BY ts")
    assert rows == [(1715299200009930, "code", "unknown"), (1715472000000000, "code", "unknown")]
