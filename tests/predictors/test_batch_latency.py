"""Batch latency: held-out (model, GPU) pairs, the per-layer error on an unseen GPU derived from
the raw Vidur CSVs, the naive baselines, errors that name the bad input, and the cost model.

Expected numbers are derived here from the raw profile files (csv module, plain loops, the
datasheet peaks and the cost formulas written out by hand), never by predictors.batch_latency.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import polars as pl
import pytest

from ingest.pipeline import ingest_paths
from predictors import api, load
from predictors import batch_latency as bl
from predictors import common as c
from predictors.hardware import GPUS, gpu
from predictors.runtime import FeatureError
from predictors.runtime import roofline as rf
from tests.conftest import SHARED

PROFILES = SHARED / "llm_serving/vidur_profiling/compute"
LLAMA2 = "meta-llama/Llama-2-7b-hf"
LLAMA3 = "meta-llama/Meta-Llama-3-8B"
PHI2 = "microsoft/phi-2"
# Datasheet numbers, typed in again from the vendors' datasheets (dense FP16 tensor FLOP/s,
# memory bytes/s), not read from predictors/runtime/roofline.py.
PEAKS = {"a100": (312e12, 2039e9), "h100": (989.5e12, 3350e9)}
OPS = [
    "emb",
    "input_layernorm",
    "attn_pre_proj",
    "attn_rope",
    "attn_post_proj",
    "post_attention_layernorm",
    "mlp_up_proj",
    "mlp_act",
    "mlp_down_proj",
    "add",
]


# --- an independent reading of the raw profiles -----------------------------------------------


def raw_profile(path: Path) -> dict[tuple[int, int], dict[str, float]]:
    """(tensor_parallel, num_tokens) -> {operator: median seconds}, repeated configurations
    averaged, from one Vidur mlp.csv (times in ms)."""
    sums: dict[tuple[int, int], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    dims: dict[str, str] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            key = (int(row["num_tensor_parallel_workers"]), int(row["num_tokens"]))
            for op in OPS:
                value = row.get(f"time_stats.{op}.median")
                if value not in (None, ""):
                    sums[key][op].append(float(value) / 1000.0)
            dims = {k: row[k] for k in ("n_head", "n_kv_head", "n_embd", "n_expanded_embd")}
            dims["use_gated_mlp"] = row["use_gated_mlp"]
    out = {k: {op: sum(v) / len(v) for op, v in ops.items()} for k, ops in sums.items()}
    out[(-1, -1)] = {
        k: float(v == "True") if k == "use_gated_mlp" else float(v) for k, v in dims.items()
    }
    return out


def hand_cost(op: str, n: float, t: float, d: dict[str, float]) -> tuple[float, float]:
    """FLOPs and bytes per GPU written out from the formulas' meaning, 2 bytes an element."""
    h, f, q, kv = d["n_embd"], d["n_expanded_embd"], d["n_head"], d["n_kv_head"]
    hd = h / q
    up = f * (2 if d["use_gated_mlp"] else 1) / t

    def gemm(m: float, k: float, c_: float) -> tuple[float, float]:
        return 2 * m * k * c_, 2 * (m * k + k * c_ + m * c_)

    return {
        "emb": lambda: (n * h, 4 * n * h),
        "input_layernorm": lambda: (5 * n * h, 2 * (2 * n * h + h)),
        "post_attention_layernorm": lambda: (5 * n * h, 2 * (2 * n * h + h)),
        "attn_pre_proj": lambda: gemm(n, h, (q + 2 * kv) * hd / t),
        "attn_rope": lambda: (
            6 * n * (q + kv) * hd / t,
            4 * n * (q + kv) * hd / t + 4 * n * hd,
        ),
        "attn_post_proj": lambda: gemm(n, q * hd / t, h),
        "mlp_up_proj": lambda: gemm(n, h, up),
        "mlp_act": lambda: (5 * n * f / t, 2 * (n * up + n * f / t)),
        "mlp_down_proj": lambda: gemm(n, f / t, h),
        "add": lambda: (n * h, 6 * n * h),
    }[op]()


def onnx_times(model_dir: Path, rows: list[dict[str, Any]]) -> np.ndarray:
    """The graph run by onnxruntime directly on hand-made feature rows."""
    sess = ort.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    feeds: dict[str, np.ndarray] = {}
    for name in [i.name for i in sess.get_inputs()]:
        values = [r[name] for r in rows]
        dtype = object if name == "operator" else np.float32
        feeds[name] = np.array(values, dtype=dtype).reshape(-1, 1)
    return np.asarray(sess.run(["time_s"], feeds)[0], dtype=np.float64).ravel()


def hand_layer_mape(model_dir: Path, sku: str, model: str) -> tuple[float, int]:
    """Per-layer MAPE of the saved model on one raw profile, and the number of layers."""
    prof = raw_profile(PROFILES / sku / model / "mlp.csv")
    dims = prof.pop((-1, -1))
    peak, bw = PEAKS[sku]
    rows, where = [], []
    for (t, n), ops in sorted(prof.items()):
        for op in ops:
            fl, by = hand_cost(op, n, t, dims)
            comp, mem = fl / peak, by / bw
            rows.append(
                {
                    "operator": op,
                    "num_tokens": n,
                    "tensor_parallel": t,
                    "compute_s": comp,
                    "memory_s": mem,
                    "roofline_s": max(comp, mem),
                    "compute_memory_ratio": comp / mem,
                }
            )
            where.append((t, n, op))
    pred = onnx_times(model_dir, rows)
    layer_pred: dict[tuple[int, int], float] = defaultdict(float)
    for (t, n, op), p in zip(where, pred, strict=True):
        if op != "emb":
            layer_pred[(t, n)] += p
    errors = []
    for key, ops in prof.items():
        measured = sum(v for op, v in ops.items() if op != "emb")
        errors.append(abs(layer_pred[key] - measured) / measured)
    return sum(errors) / len(errors), len(errors)


# --- a model with an unseen GPU and an unseen model --------------------------------------------


@pytest.fixture(scope="module")
def held_out(lake: Path, models: Path) -> c.TrainResult:
    """Trained on A100 profiles of Llama-2-7B and phi-2 only: H100 (every model) and
    Llama-3-8B (every GPU) are held out."""
    return api.train(
        "latency",
        lake,
        ["vidur_profiling"],
        models / "latency-h100-out",
        holdout_gpu="H100",
        cross_validate=False,
        skops_file=False,
    )


@pytest.fixture(scope="module")
def evaluated(held_out: c.TrainResult, lake: Path) -> dict[str, Any]:
    """`evaluate` of the held-out model on the trace it was trained on."""
    return api.evaluate(held_out.out, lake, "vidur_profiling")


def test_held_out_pairs_are_never_trained_on(held_out: c.TrainResult) -> None:
    card = held_out.card
    assert card["options"] == {"holdout": LLAMA3, "holdout_gpu": "h100", "seed": 0}
    assert card["training"]["pairs"] == [[LLAMA2, "a100"], [PHI2, "a100"]]
    assert card["split"]["test_pairs"] == [[LLAMA2, "h100"], [LLAMA3, "a100"]]
    assert card["split"]["kind"].startswith("grouped by (model, GPU) pair")
    test = held_out.test_rows
    assert test is not None
    assert set(test.select("model", "gpu").unique().iter_rows()) == {
        (LLAMA2, "h100"),
        (LLAMA3, "a100"),
    }
    # Each raw configuration (tensor_parallel, num_tokens) is one row per operator.
    h100 = raw_profile(PROFILES / "h100" / LLAMA2 / "mlp.csv")
    llama3 = raw_profile(PROFILES / "a100" / LLAMA3 / "mlp.csv")
    expected = sum(len(v) for k, v in [*h100.items(), *llama3.items()] if k != (-1, -1))
    assert card["split"]["rows"]["test"] == test.height == expected


def test_unseen_gpu_per_layer_mape_matches_the_raw_profiles_and_is_under_15_percent(
    held_out: c.TrainResult, evaluated: dict[str, Any]
) -> None:
    ev = evaluated
    want, layers = hand_layer_mape(held_out.out, "h100", LLAMA2)
    pair = ev["per_pair"][f"{LLAMA2} on h100"]
    assert pair["scope"] == "unseen GPU of a seen model"
    assert pair["model"]["layers"] == layers == 4 * 259
    assert pair["model"]["mape_layer"] == pytest.approx(want, rel=1e-6)
    assert want < 0.15
    scope = ev["by_scope"]["unseen GPU of a seen model"]
    assert scope["model"]["mape_layer"] == pytest.approx(want, rel=1e-6)


def test_unseen_model_per_layer_mape_matches_the_raw_profiles_and_is_under_5_percent(
    held_out: c.TrainResult, evaluated: dict[str, Any]
) -> None:
    ev = evaluated
    want, layers = hand_layer_mape(held_out.out, "a100", LLAMA3)
    pair = ev["per_pair"][f"{LLAMA3} on a100"]
    assert pair["scope"] == "unseen model on a seen GPU"
    assert pair["model"]["layers"] == layers
    assert pair["model"]["mape_layer"] == pytest.approx(want, rel=1e-6)
    assert want < 0.05


def test_evaluate_scores_exactly_the_pairs_not_trained_on(
    held_out: c.TrainResult, evaluated: dict[str, Any]
) -> None:
    ev = evaluated
    assert ev["rows"] == held_out.card["split"]["rows"]["test"]
    assert set(ev["per_pair"]) == {f"{LLAMA2} on h100", f"{LLAMA3} on a100"}
    assert set(ev["by_scope"]) == {"unseen GPU of a seen model", "unseen model on a seen GPU"}


def test_the_model_beats_every_naive_baseline_per_layer_in_every_scope(
    held_out: c.TrainResult, evaluated: dict[str, Any]
) -> None:
    ev = evaluated
    names = {"nearest_profile", "roofline_calibrated", "operator_median", "roofline"}
    assert set(ev["baselines"]) == names
    for scope in ev["by_scope"].values():
        assert set(scope["baselines"]) == names
        best = min(b["mape_layer"] for b in scope["baselines"].values())
        assert scope["strongest_baseline"]["value"] == best
        assert scope["model"]["mape_layer"] < best
    assert ev["strongest_baseline"]["name"] == "nearest_profile"


def test_nearest_profile_is_the_a100_profile_scaled_by_the_datasheets(
    held_out: c.TrainResult, lake: Path
) -> None:
    """On an unseen GPU the strongest baseline is the same call measured on the training GPU,
    times the ratio of the two roofline times: checked by hand on mlp_up_proj at 512 tokens."""
    a100 = raw_profile(PROFILES / "a100" / LLAMA2 / "mlp.csv")
    fl, by = hand_cost("mlp_up_proj", 512, 1, a100[(-1, -1)])
    roof = {g: max(fl / p, by / b) for g, (p, b) in PEAKS.items()}
    want = a100[(1, 512)]["mlp_up_proj"] * roof["h100"] / roof["a100"]
    db = c.open_lake(lake)
    try:
        data = bl.load_operators(db, "vidur_profiling")
    finally:
        db.close()
    trained = [tuple(p) for p in held_out.card["training"]["pairs"]]
    reference = data.filter(pl.struct("model", "gpu").is_in(
        [{"model": m, "gpu": g} for m, g in trained]))  # fmt: skip
    assert reference.height == sum(
        len(v) for name, sku in trained
        for k, v in raw_profile(PROFILES / sku / name / "mlp.csv").items() if k != (-1, -1)
    )  # fmt: skip
    row = data.filter(
        pl.col("gpu") == "h100",
        pl.col("model") == LLAMA2,
        pl.col("operator") == "mlp_up_proj",
        pl.col("num_tokens") == 512,
        pl.col("tensor_parallel") == 1,
    )
    assert bl.nearest_profile(reference, row)[0] == pytest.approx(want, rel=1e-9)


# --- nothing to score --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def phi2_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake with one trace: phi-2 on A100 (a pair the held-out model trained on)."""
    path = tmp_path_factory.mktemp("phi2") / "lake"
    report = ingest_paths(
        [PROFILES / "a100" / PHI2 / "mlp.csv"], path, source="vidur_profiling", trace="phi2_a100"
    )
    assert not report.failures
    return path


def test_evaluate_with_only_trained_pairs_exits_1_and_names_the_pairs(
    held_out: c.TrainResult, phi2_lake: Path, cli: Callable[..., tuple[int, str, str]]
) -> None:
    with pytest.raises(c.PredictorDataError, match="Nothing to score"):
        api.evaluate(held_out.out, phi2_lake, "phi2_a100")
    code, out, err = cli("evaluate", held_out.out, "--trace", "phi2_a100", "--lake", phi2_lake)
    assert code == 1, (out, err)
    text = " ".join(err.split())
    assert "Nothing to score in 'phi2_a100'" in text
    assert f"Pairs in training: {LLAMA2} on a100; {PHI2} on a100." in text
    assert f"Pairs in the trace: {PHI2} on a100." in text
    assert "Unexpected" not in err


def test_an_unseen_model_in_another_lake_is_scored_without_the_profile_baseline(
    lake: Path, models: Path, phi2_lake: Path
) -> None:
    result = api.train(
        "latency",
        lake,
        ["vidur_profiling"],
        models / "latency-phi2-out",
        holdout=PHI2,
        max_iter=30,
        cross_validate=False,
        skops_file=False,
    )
    ev = api.evaluate(result.out, phi2_lake, "phi2_a100")
    prof = raw_profile(PROFILES / "a100" / PHI2 / "mlp.csv")
    assert ev["rows"] == sum(len(v) for k, v in prof.items() if k != (-1, -1))
    assert set(ev["per_pair"]) == {f"{PHI2} on a100"}
    # the lake lacks vidur_profiling, so there is nothing for nearest_profile to copy
    assert "nearest_profile" not in ev["baselines"]
    assert "nearest_profile baseline left out" in ev["notes"][0]


def test_cross_validation_leaves_out_every_model_and_every_gpu(lake: Path, models: Path) -> None:
    result = api.train(
        "latency", lake, ["vidur_profiling"], models / "latency-cv", max_iter=3, skops_file=False
    )
    cv = result.card["metrics"]["cross_validation"]
    assert set(cv["model"]) == {LLAMA2, LLAMA3, PHI2}
    assert set(cv["gpu"]) == {"a100", "h100"}
    assert cv["gpu"]["a100"]["trained_on"] == [f"{LLAMA2} on h100"]
    assert cv["model"][LLAMA2]["trained_on"] == [f"{LLAMA3} on a100", f"{PHI2} on a100"]
    # every row of the left-out model or GPU, one per operator and raw configuration
    h100 = raw_profile(PROFILES / "h100" / LLAMA2 / "mlp.csv")
    assert cv["gpu"]["h100"]["rows"] == sum(len(v) for k, v in h100.items() if k != (-1, -1))
    for fold in [*cv["model"].values(), *cv["gpu"].values()]:
        assert fold["strongest_baseline"]["name"] == "nearest_profile"
        assert 0 < fold["model"]["mape_layer"] < 1


# --- options, inputs and errors ----------------------------------------------------------------


def test_holdout_options_are_checked(lake: Path, models: Path) -> None:
    with pytest.raises(c.PredictorUsageError, match=r"held-out GPU 'l4'.*GPUs: a100, h100"):
        api.train("latency", lake, ["vidur_profiling"], models / "x", holdout_gpu="l4")
    with pytest.raises(c.PredictorUsageError, match="Nothing is held out"):
        api.train("latency", lake, ["vidur_profiling"], models / "x", holdout="none")
    with pytest.raises(c.PredictorUsageError, match="held-out model 'gpt-2'"):
        api.train("latency", lake, ["vidur_profiling"], models / "x", holdout="gpt-2")
    assert api.options("latency")["holdout_gpu"] is None


def test_nan_or_missing_inputs_raise_naming_the_column() -> None:
    llama = {"n_head": 32, "n_kv_head": 8, "n_embd": 4096, "n_expanded_embd": 14336}
    with pytest.raises(c.PredictorDataError, match="n_embd is missing, NaN"):
        bl.operator_rows({**llama, "n_embd": math.nan}, "a100", 1, [8])
    with pytest.raises(c.PredictorUsageError, match="lacks n_kv_head"):
        bl.operator_rows({k: v for k, v in llama.items() if k != "n_kv_head"}, "a100", 1, [8])
    rows = bl.operator_rows(llama, "a100", 1, [8, 16])
    with pytest.raises(c.PredictorDataError, match=r"num_tokens is missing, NaN.*row 1"):
        bl.with_features(rows.with_columns(pl.Series("num_tokens", [8.0, None] * 10)))
    with pytest.raises(c.PredictorDataError, match="tensor_parallel is missing, NaN"):
        bl.with_features(rows.with_columns(pl.lit(0).alias("tensor_parallel")))
    with pytest.raises(c.PredictorUsageError, match="No GPU named 'b200'"):
        bl.operator_rows(llama, "b200", 1, [8])


def test_nan_features_never_reach_the_model_silently(latency: c.TrainResult) -> None:
    m = load(latency.out)
    rows = bl.operator_rows(
        {"n_head": 32, "n_kv_head": 32, "n_embd": 4096, "n_expanded_embd": 11008}, "a40", 1, [64]
    )
    assert np.isfinite(m.predict(rows)).all()
    with pytest.raises(FeatureError, match="Feature 'roofline_s' is nan at row 3"):
        roof = rows["roofline_s"].to_list()
        roof[3] = None
        m.predict(rows.with_columns(pl.Series("roofline_s", roof)))


def test_gemm_cost_by_hand() -> None:
    row = pl.DataFrame(
        {
            "operator": ["mlp_down_proj", "mlp_up_proj"],
            "num_tokens": [8, 8],
            "tensor_parallel": [2, 2],
            "n_head": [32, 32],
            "n_kv_head": [8, 8],
            "n_embd": [4096, 4096],
            "n_expanded_embd": [14336, 14336],
            "use_gated_mlp": [True, False],
        }
    )
    out = bl.operator_cost(row)
    k = 14336 / 2
    assert out["flops"][0] == 2 * 8 * k * 4096
    assert out["bytes"][0] == 2 * (8 * k + k * 4096 + 8 * 4096)
    # not gated: the up projection computes f/t columns, not 2f/t
    assert out["flops"][1] == 2 * 8 * 4096 * k


def test_the_cards_formulas_are_the_code(latency: c.TrainResult) -> None:
    """The text of roofline.formulas, evaluated with the card's symbols, gives the numbers the
    features are computed from (a consumer in another language reads that text)."""
    roof = latency.card["roofline"]
    assert set(roof["formulas"]) == set(OPS)
    for model, d in roof["models"].items():
        for op in d["operators"]:
            for n, t in [(1, 1), (37, 2), (4096, 8)]:
                env = {
                    "n": float(n), "t": float(t), "h": float(d["n_embd"]),
                    "f": float(d["n_expanded_embd"]), "q": float(d["n_head"]),
                    "kv": float(d["n_kv_head"]), "d": d["n_embd"] / d["n_head"],
                    "g": 1.0 if d["use_gated_mlp"] else 0.0, "B": roof["bytes_per_element"],
                }  # fmt: skip
                fl, by = (eval(roof["formulas"][op][k], {}, env) for k in ("flops", "bytes"))
                want = hand_cost(op, n, t, {k: float(v) for k, v in d.items() if k != "operators"})
                assert (fl, by) == pytest.approx(want, rel=1e-12), (model, op, n, t)


def test_card_records_the_models_the_profiles_hold(latency: c.TrainResult) -> None:
    models = latency.card["roofline"]["models"]
    for sku, name in [("a100", LLAMA3), ("a100", PHI2), ("h100", LLAMA2)]:
        dims = raw_profile(PROFILES / sku / name / "mlp.csv")[(-1, -1)]
        got = models[name]
        assert {k: float(got[k]) for k in ("n_head", "n_kv_head", "n_embd", "n_expanded_embd")} == {
            k: dims[k] for k in ("n_head", "n_kv_head", "n_embd", "n_expanded_embd")
        }
        assert got["use_gated_mlp"] is bool(dims["use_gated_mlp"])
    # phi-2 runs attention and MLP in parallel from one norm: no post_attention_layernorm
    assert "post_attention_layernorm" not in models[PHI2]["operators"]
    assert models[LLAMA2]["operators"] == OPS


def test_parity_onnx_vs_sklearn_on_test_rows(latency: c.TrainResult) -> None:
    assert latency.card["parity"]["rows"] > 10_000
    assert latency.card["parity"]["max_rel_diff"] < 1e-4
    assert latency.test_rows is not None
    check = c.parity(c.load(latency.out), c.load_pipelines(latency.out), latency.test_rows)
    assert check["max_rel_diff"] < 1e-4


def test_batch_time_grows_with_tokens_and_layers(latency: c.TrainResult) -> None:
    m = c.load(latency.out)
    llama3 = {"n_head": 32, "n_kv_head": 8, "n_embd": 4096, "n_expanded_embd": 14336}
    t = bl.batch_time(m, llama3, "a100", 1, [1, 512, 4096], n_layers=32)
    assert (np.diff(t) > 0).all()
    assert t[-1] > 0.01  # 32 layers of a 4096-token batch on an A100: tens of ms
    t2 = bl.batch_time(m, llama3, "a100", 1, [4096], n_layers=16)
    assert t2[0] < t[-1]


def test_hardware_table_is_sane() -> None:
    for g in GPUS.values():
        assert 1e13 < g.peak_flops < 1e16 and 1e11 < g.mem_bw < 1e13
    assert gpu("H100").peak_flops > gpu("a100").peak_flops
    assert (gpu("a100").peak_flops, gpu("a100").mem_bw) == PEAKS["a100"]
    assert (gpu("h100").peak_flops, gpu("h100").mem_bw) == PEAKS["h100"]
    assert rf.GPUS is GPUS
