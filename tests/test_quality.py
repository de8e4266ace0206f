"""Data-quality findings: counted, kept in the manifest, shown to the user; rows still written."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ingest.sources import azure_llm_inference, burstgpt
from ingest.sources.base import TableQuery

BURST_HEADER = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"


def _findings(lake_dir: Path, trace: str) -> dict[str, int]:
    m = json.loads((lake_dir / "_manifest" / f"{trace}.json").read_text())
    return {f["slug"]: f["count"] for f in m["quality"]}


def test_unsorted_and_off_grid_timestamps(tmp_path: Path, lake_dir: Path, ingest_one) -> None:
    f = tmp_path / "BurstGPT_1.csv"
    # 1 s resolution declared; 12.5 is off the grid; 3 -> 1 goes back in time.
    f.write_text(
        BURST_HEADER
        + "3,ChatGPT,10,1,11,API log\n1,ChatGPT,10,1,11,API log\n12.5,GPT-4,5,5,10,API log\n"
    )
    result = ingest_one(burstgpt.SOURCE, [f])
    assert result.tables == {"requests": 3}  # findings never drop rows
    assert _findings(lake_dir, result.trace) == {
        "non-monotonic-timestamp": 1,
        "off-grid-timestamp": 1,
    }


def test_clean_real_sample_has_no_findings(shared: Path, lake_dir: Path, ingest_one) -> None:
    path = shared / "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
    result = ingest_one(azure_llm_inference.SOURCE_2023, [path])
    assert result.quality == []
    assert _findings(lake_dir, result.trace) == {}


def test_a_part_file_with_no_rows_is_reported(tmp_path: Path, lake_dir: Path, ingest_one) -> None:
    """Multi-part traces (Google 2011 parts, Azure 2019 days): one empty part is worth a line."""
    good, empty = tmp_path / "part-0.csv", tmp_path / "part-1.csv"

    def read(paths, ctx):  # type: ignore[no-untyped-def]
        yield TableQuery("requests", "SELECT 7::BIGINT AS input_tokens", (good,))
        yield TableQuery("requests", "SELECT 7::BIGINT AS input_tokens WHERE false", (empty,))

    source = dataclasses.replace(burstgpt.SOURCE, read=read, records=None)  # not lines
    good.write_text("x")
    empty.write_text("")
    result = ingest_one(source, [good, empty], trace="parts")
    assert result.tables == {"requests": 1}
    assert _findings(lake_dir, "parts") == {"empty-file": 1}
