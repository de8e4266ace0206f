"""A lake of the real samples the predictors train on, built once per test session, and one
trained model per kind (small settings, so the whole folder runs in well under a minute)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from predictors import api
from predictors.common import TrainResult
from tests.conftest import FIXTURES, SHARED

SAMPLES = [
    "llm_serving/azure_llm_inference_2023",
    "llm_serving/mooncake_fast25",
    "llm_serving/vidur_processed_traces",  # splitwise_conv (timed), arxiv_summarization (not)
    "llm_serving/vidur_profiling",
    "vm_interference/azure_vm_noise_2024",
]


@pytest.fixture(scope="session", autouse=True)
def one_openmp_thread() -> Iterator[None]:
    """HistGradientBoosting's OpenMP threads wait on each other after every tree node: with
    another process busy on one of the machine's two cores, a small fit took 10-40 times as
    long. One thread fits the same trees."""
    import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime, so that it can be limited)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="session")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"Real samples not found at {SHARED}: clone the project beside ../shared.")
    path = tmp_path_factory.mktemp("predictors") / "lake"
    report = ingest_paths(
        [*(SHARED / s for s in SAMPLES), FIXTURES / "burstgpt_schema_fixture.csv"], path
    )
    assert not report.failures, report.failures
    return path


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def output_length(lake: Path, models: Path) -> TrainResult:
    return api.train(
        "output-length",
        lake,
        ["azure_llm_2023_conv", "burstgpt_schema_fixture"],
        models / "output-length",
        max_iter=60,
    )


@pytest.fixture(scope="session")
def output_length_alone(lake: Path, models: Path) -> Callable[[str], TrainResult]:
    """An output-length model trained on one trace alone with the defaults, as `traces train
    output-length --trace NAME` does (Mooncake's shortfall showed at the defaults,
    not at the shared model's 60); each is trained on first use and kept for the session."""
    trained: dict[str, TrainResult] = {}

    def get(trace: str) -> TrainResult:
        if trace not in trained:
            out = models / f"output-length-{trace}"
            trained[trace] = api.train("output-length", lake, [trace], out, skops_file=False)
        return trained[trace]

    return get


@pytest.fixture(scope="session")
def latency(lake: Path, models: Path) -> TrainResult:
    return api.train(
        "latency", lake, ["vidur_profiling"], models / "latency", max_iter=120, cross_validate=False
    )


@pytest.fixture(scope="session")
def interference(lake: Path, models: Path) -> TrainResult:
    return api.train(
        "interference", lake, ["azure_vm_noise_2024"], models / "interference", max_iter=60
    )
