"""Batch latency: leave-one-model-out, parity, physical features, batch time."""

from __future__ import annotations

import numpy as np
import polars as pl

from predictors import api, load
from predictors import batch_latency as bl
from predictors import common as c
from predictors.hardware import GPUS, gpu


def test_parity_onnx_vs_sklearn_on_test_rows(latency):
    assert latency.card["parity"]["rows"] > 10_000
    assert latency.card["parity"]["max_rel_diff"] < 1e-4
    check = c.parity(load(latency.out), c.load_pipelines(latency.out), latency.test_rows)
    assert check["max_rel_diff"] < 1e-4


def test_held_out_model_is_never_trained_on(latency):
    card = latency.card
    holdout = card["options"]["holdout"]
    assert holdout == bl.DEFAULT_HOLDOUT
    assert holdout not in card["training"]["models"]
    assert set(latency.test_rows["model"].unique()) == {holdout}
    assert card["split"]["kind"].startswith("grouped by model")


def test_evaluate_scores_only_unseen_models(latency, lake):
    ev = api.evaluate(latency.out, lake, "vidur_profiling")
    assert ev["rows"] == latency.card["split"]["rows"]["test"]
    assert {"roofline", "roofline_calibrated", "operator_median"} <= set(ev["baselines"])
    m = ev["model"]
    assert {"mape", "mape_layer", "mape_op_mlp_up_proj"} <= set(m)
    # The learned efficiency beats the plain and the calibrated roofline on the unseen model.
    assert m["mape_layer"] < ev["baselines"]["roofline_calibrated"]["mape_layer"]
    assert m["mape_layer"] < ev["baselines"]["roofline"]["mape_layer"]


def test_gemm_cost_by_hand():
    row = pl.DataFrame(
        {
            "operator": ["mlp_down_proj"],
            "num_tokens": [8],
            "tensor_parallel": [2],
            "n_head": [32],
            "n_kv_head": [8],
            "n_embd": [4096],
            "n_expanded_embd": [14336],
            "use_gated_mlp": [True],
        }
    )
    out = bl.operator_cost(row)
    k = 14336 / 2
    assert out["flops"][0] == 2 * 8 * k * 4096
    assert out["bytes"][0] == 2 * (8 * k + k * 4096 + 8 * 4096)


def test_batch_time_grows_with_tokens_and_layers(latency):
    m = load(latency.out)
    llama3 = {"n_head": 32, "n_kv_head": 8, "n_embd": 4096, "n_expanded_embd": 14336}
    t = bl.batch_time(m, llama3, "a100", 1, [1, 512, 4096], n_layers=32)
    assert (np.diff(t) > 0).all()
    assert t[-1] > 0.01  # 32 layers of a 4096-token batch on an A100: tens of ms
    t2 = bl.batch_time(m, llama3, "a100", 1, [4096], n_layers=16)
    assert t2[0] < t[-1]


def test_hardware_table_is_sane():
    for g in GPUS.values():
        assert 1e13 < g.peak_flops < 1e16 and 1e11 < g.mem_bw < 1e13
    assert gpu("H100").peak_flops > gpu("a100").peak_flops
