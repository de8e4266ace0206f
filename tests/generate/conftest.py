"""Shared fixtures of the workload generator's tests: one small lake of real samples per test
session (an LLM, a job and two serverless traces), and paths to the raw files they came from,
so that tests can check generated numbers against the raw files independently."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import SHARED

if TYPE_CHECKING:
    from generate.api import GenerateResult

AZURE = SHARED / "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
MOONCAKE = SHARED / "llm_serving/mooncake_fast25/conversation_trace.jsonl"
VIDUR = SHARED / "llm_serving/vidur_processed_traces"
ARXIV = VIDUR / "arxiv_summarization_stats_llama2_tokenizer_filtered_v2.csv"
KTH = SHARED / "datacenter/pwa_swf_kth_sp2/KTH-SP2-1996-2.1-cln.swf.gz"
FUNCTIONS_2019 = SHARED / "serverless/azure_functions_2019_invitro_sample100"
FUNCTIONS_2021 = SHARED / "serverless/azure_functions_2021"

AZURE_TRACE = "azure_llm_2023_conv"
MOONCAKE_TRACE = "mooncake_conversation"
KTH_TRACE = "swf_kth_sp2_1996_2_1_cln"
FUNCTIONS_2019_TRACE = "azure_functions_2019"
FUNCTIONS_2021_TRACE = "azure_functions_2021"
ARXIV_TRACE = "vidur_arxiv_summarization"  # token lengths without arrival times
# Arrival models are not what format and content tests test: one fast candidate keeps them
# quick (the CLI tests run the full selection).
FAST = ("rate_poisson",)


@pytest.fixture(scope="session")
def gen_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Azure LLM 2023 conversation, Mooncake conversation, KTH SP2 (SWF), Azure Functions 2019
    (invitro's 100-function sample) and 2021, Vidur's untimed arXiv lengths: real samples,
    ingested once."""
    from ingest.pipeline import ingest_paths

    if not SHARED.is_dir():
        pytest.fail(f"Real samples not found at {SHARED}: clone the project beside ../shared.")
    lake = tmp_path_factory.mktemp("generate") / "lake"
    report = ingest_paths([AZURE, MOONCAKE, KTH, FUNCTIONS_2019, FUNCTIONS_2021, ARXIV], lake)
    assert not report.failures, report.failures
    return lake


@pytest.fixture(scope="session")
def two_day_functions(gen_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    """Azure Functions 2019 generated over two days (a set of invitro files a day), written
    once for the tests of its invocation files and of its durations and memory files."""
    from generate.api import generate

    out = tmp_path_factory.mktemp("two_days") / "trace" / "invocations.csv"
    return generate(
        gen_lake, FUNCTIONS_2019_TRACE, out, "azure-functions", duration_s=2 * 86400,
        arrival_models=FAST,
    )  # fmt: skip
