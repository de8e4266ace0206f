"""A small model folder trained on the session's sample lake (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def models(sample_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with one output-length model (few trees: the page, not the model, is
    under test)."""
    import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime, so that it can be limited)
    from threadpoolctl import threadpool_limits

    from predictors import api

    root = tmp_path_factory.mktemp("dashboard-models")
    # One OpenMP thread: a busy second core slows small fits 10-40x (tests/predictors/conftest).
    with threadpool_limits(limits=1, user_api="openmp"):
        api.train(
            "output-length",
            sample_lake,
            ["azure_llm_2023_conv"],
            root / "output-length",
            max_iter=20,
            skops_file=False,
        )
    return root
