"""`traces predict`, batch and online, on every real LLM trace in ../shared: the session a
scheduler embeds computes the features training computed (to 1e-6 relative), and the file
holds one row per request of the raw trace."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analysis.db import LakeDB
from predictors.common import TrainResult
from tests.conftest import SHARED

# Every real LLM-serving trace whose requests carry both token counts, and how many requests
# each raw file holds (counted below with the csv / json modules, not with our readers).
REAL_LLM = {
    "azure_llm_2023_conv": ("llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"),
    "mooncake_conversation": "llm_serving/mooncake_fast25/conversation_trace.jsonl",
    "vidur_splitwise_conv": "llm_serving/vidur_processed_traces/splitwise_conv.csv",
    "vidur_arxiv_summarization": (
        "llm_serving/vidur_processed_traces/"
        "arxiv_summarization_stats_llama2_tokenizer_filtered_v2.csv"
    ),
}


def _raw_rows(path: Path) -> int:
    if path.suffix == ".jsonl":
        with path.open() as f:
            return sum(1 for line in f if line.strip() and json.loads(line) is not None)
    with path.open(newline="") as f:
        return sum(1 for row in csv.reader(f) if row) - 1  # header


def test_the_lake_holds_every_real_llm_trace(lake: Path) -> None:
    db = LakeDB(lake)
    try:
        with_tokens = set(
            db.sql(
                "SELECT DISTINCT trace FROM requests WHERE input_tokens IS NOT NULL "
                "AND output_tokens IS NOT NULL"
            )["trace"].to_list()
        )
    finally:
        db.close()
    assert with_tokens - {"burstgpt_schema_fixture"} == set(REAL_LLM)


@pytest.mark.parametrize("trace", sorted(REAL_LLM))
def test_online_replay_equals_batch_on_real_traces(
    trace: str,
    output_length: TrainResult,
    lake: Path,
    tmp_path: Path,
    cli: Callable[..., tuple[int, str, str]],
) -> None:
    batch, online = tmp_path / "batch.parquet", tmp_path / "online.parquet"
    model = output_length.out
    code, out, err = cli("predict", model, "--lake", lake, "--trace", trace, "--out", batch)
    assert code == 0, err
    code, out, err = cli(
        "predict", model, "--lake", lake, "--trace", trace, "--out", online, "--online"
    )
    assert code == 0, err
    assert "(online)" in out
    a, b = pl.read_parquet(batch), pl.read_parquet(online)
    assert a.height == b.height == _raw_rows(SHARED / REAL_LLM[trace])
    cols = ["output_tokens_p10", "output_tokens_p50", "output_tokens_p90"]
    assert [c for c in a.columns if c.endswith(("p10", "p50", "p90"))] == cols
    x, y = a.select(cols).to_numpy(), b.select(cols).to_numpy()
    assert not np.isnan(x).any() and not np.isnan(y).any()
    rel = np.abs(x.astype(np.float64) - y) / np.maximum(np.abs(x), 1e-12)
    assert rel.max() <= 1e-6, (trace, float(rel.max()), int(rel.max(axis=1).argmax()))
    assert (x[:, 0] <= x[:, 1]).all() and (x[:, 1] <= x[:, 2]).all()
    # the key columns are the lake's rows in order, with the truth beside the prediction
    assert a["row"].to_list() == list(range(a.height))
    assert a.drop(cols).equals(b.drop(cols))


def test_predict_refuses_what_it_cannot_do(
    output_length: TrainResult,
    lake: Path,
    tmp_path: Path,
    cli: Callable[..., tuple[int, str, str]],
) -> None:
    model = output_length.out
    code, _, err = cli(
        "predict", model, "--lake", lake, "--trace", "nope", "--out", tmp_path / "x.parquet"
    )
    assert code == 2 and "nope" in err
    code, _, err = cli(
        "predict", model, "--lake", lake, "--trace", "azure_vm_noise_2024",
        "--out", tmp_path / "x.parquet",
    )  # fmt: skip
    assert code == 1 and "no requests table" in err
    code, _, err = cli(
        "predict", model, "--lake", lake, "--trace", "mooncake_conversation",
        "--out", tmp_path / "x.csv",
    )  # fmt: skip
    assert code == 2 and ".parquet" in err
    assert not (tmp_path / "x.parquet").exists() and not (tmp_path / "x.csv").exists()
    (tmp_path / "d.parquet").mkdir()
    code, _, err = cli(
        "predict", model, "--lake", lake, "--trace", "mooncake_conversation",
        "--out", tmp_path / "d.parquet",
    )  # fmt: skip
    assert code == 2 and "is a folder" in err
    assert [p.name for p in tmp_path.iterdir()] == ["d.parquet"]  # no temporary left
