"""BurstGPT on a fixture written to the published schema (no real rows exist in ../shared)."""

from __future__ import annotations

from pathlib import Path

from ingest.sources import burstgpt
from tests.conftest import FIXTURES, lake_sql


def test_release3_fixture(lake_dir: Path, ingest_one) -> None:
    result = ingest_one(burstgpt.SOURCE, [FIXTURES / "burstgpt_schema_fixture.csv"])
    assert result.trace == "burstgpt_schema_fixture"
    assert result.tables == {"requests": 10}
    rows = lake_sql(
        lake_dir,
        "SELECT epoch(ts), service, session, kind, input_tokens, output_tokens, duration_s, "
        "status, status_raw FROM requests ORDER BY ts, input_tokens",
    )
    # First fixture line: 5.0,s-001,2,ChatGPT,472,18,490,Conversation log
    assert rows[0] == (5.0, "ChatGPT", "s-001", "conversation", 472, 18, 2.0, "ok", None)
    # Zero response tokens is BurstGPT's failure encoding (line 6 and line 10 of the fixture).
    failed = [r for r in rows if r[7] == "failed"]
    assert [(r[1], r[4]) for r in failed] == [("ChatGPT", 913), ("GPT-4", 77)]
    assert all(r[8] == "Response tokens = 0" for r in failed)
    assert {r[3] for r in rows} == {"conversation", "api"}
    # Empty Session ID is unknown, not an empty string.
    assert lake_sql(lake_dir, "SELECT count(*) FROM requests WHERE session IS NULL") == [(5,)]


def test_release1_layout_without_sessions(lake_dir: Path, ingest_one) -> None:
    result = ingest_one(burstgpt.SOURCE, [FIXTURES / "burstgpt_v1_schema_fixture.csv"])
    assert result.tables == {"requests": 4}
    rows = lake_sql(lake_dir, "SELECT session, duration_s, status FROM requests ORDER BY ts")
    assert rows[0] == (None, None, "ok")
    assert rows[-1][2] == "failed"


def test_sniff_tells_burstgpt_from_azure(shared: Path) -> None:
    head = (FIXTURES / "burstgpt_schema_fixture.csv").read_bytes()
    assert burstgpt.sniff(head, "BurstGPT_3.csv")
    azure = shared / "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
    assert not burstgpt.sniff(azure.read_bytes()[:4096], azure.name)
