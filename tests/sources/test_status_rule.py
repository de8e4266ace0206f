"""The status rule of docs/schema.md on every sample: `ok` is a recorded success, never a
default. A row says `ok` only where its source recorded an outcome (kept in `status_raw`), or,
for BurstGPT, where the published rule derives it from the row (a response with tokens)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import lake_sql


def test_ok_only_where_the_source_recorded_an_outcome(sample_lake: Path) -> None:
    rows = lake_sql(
        sample_lake,
        "SELECT trace, status, status_raw, output_tokens FROM requests "
        "UNION ALL SELECT trace, status, status_raw, NULL FROM jobs",
    )
    traces = {r[0] for r in rows}
    assert {"azure_llm_2023_conv", "mooncake_conversation", "vidur_splitwise_conv"} <= traces
    # BurstGPT derives ok from the row (README: `Response tokens == 0` is a failure).
    unfounded = {
        trace
        for trace, status, raw, out in rows
        if status == "ok" and raw is None and not (str(trace).startswith("burstgpt") and out)
    }
    assert unfounded == set()


def test_sources_without_an_outcome_say_unknown(sample_lake: Path) -> None:
    rows = lake_sql(
        sample_lake,
        "SELECT trace, count(*) FILTER (WHERE status <> 'unknown') FROM requests GROUP BY trace",
    )
    counts = {trace: n for trace, n in rows}
    for trace in (
        "azure_llm_2023_conv",
        "mooncake_conversation",
        "vidur_splitwise_conv",
        "vidur_arxiv_summarization",
        "azure_functions_2021",
    ):
        assert counts[trace] == 0, trace
