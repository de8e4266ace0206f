"""The CLI-facing entry points: kinds, options, messages, import hygiene."""

from __future__ import annotations

import subprocess
import sys

import pytest

from predictors import api
from predictors.common import PredictorDataError, PredictorUsageError
from tests.conftest import ROOT


def test_kinds_and_options():
    assert set(api.KINDS) == {"output-length", "latency", "interference"}
    assert api.options("interference")["target"] == "Redis/Test: GET"
    assert api.options("interference")["probes"] is None
    assert "holdout" in api.options("latency")


def test_unknown_kind_and_option_are_usage_errors(lake, tmp_path):
    with pytest.raises(PredictorUsageError, match=r"Unknown model kind 'size'\. Kinds: "):
        api.train("size", lake, ["x"], tmp_path)
    with pytest.raises(PredictorUsageError, match=r"Unknown option\(s\) for output-length: tgt"):
        api.train("output-length", lake, ["azure_llm_2023_conv"], tmp_path, tgt=1)
    assert PredictorUsageError.exit_code == 2 and PredictorDataError.exit_code == 1


def test_wrong_table_is_a_data_error(lake, tmp_path):
    with pytest.raises(PredictorDataError, match="has no requests table"):
        api.train("output-length", lake, ["vidur_profiling"], tmp_path / "m")


def test_not_a_model_folder(tmp_path, lake):
    with pytest.raises(PredictorDataError, match=r"is not a model folder: it has no model\.json"):
        api.evaluate(tmp_path, lake, "azure_llm_2023_conv")


def test_predictors_import_no_cli_or_dashboard_libraries():
    code = (
        "import sys, predictors, predictors.api\n"
        "bad = {'click', 'typer', 'rich', 'streamlit'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
