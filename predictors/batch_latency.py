"""Batch latency from Vidur operator profiles: per-operator, per-layer and per-batch GPU time.

Vidur fits one random forest per model and operator on `num_tokens`, which cannot say
anything about a model it has not profiled. Here every operator of every model becomes a
row with features that carry across model sizes and GPUs: the operator's FLOPs and bytes
moved per GPU (from the model dimensions and the tensor-parallel degree) divided by the GPU's
peak FLOP/s and memory bandwidth (predictors/hardware.py). The pipeline learns
ln(measured time / roofline time), the efficiency a kernel reaches at that size; the ONNX
graph multiplies it back by the roofline, so a larger model is not outside the trees' range
(trees split on ranks, so the features need no log).

Per-layer time is the sum of a model's profiled per-layer operators (every operator but the
embedding). The sample has the MLP/linear profiles only: Vidur's attention kernels
(`attention.csv`, > 4 MiB) and the all-reduce between tensor-parallel GPUs are not in it, so
"per layer" here means the linear, norm, activation, rope and residual operators of a layer.

Evaluation is leave-one-model-out: the exported model never saw the `holdout` model (on any
GPU); `cross_validation` in the card repeats that for every model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from analysis.db import LakeDB
from predictors import common as c
from predictors.hardware import gpu

KIND = "latency"
BYTES = 2  # fp16/bf16 weights and activations
EMBEDDING = "emb"
DEFAULT_HOLDOUT = "meta-llama/Meta-Llama-3-8B"

FEATURES = [
    c.Feature("operator", "", "string", "Vidur operator name (mlp_up_proj, attn_pre_proj, ...)."),
    c.Feature("num_tokens", "tokens", "float", "Tokens in the batch iteration."),
    c.Feature("tensor_parallel", "GPUs", "float", "Tensor-parallel degree."),
    c.Feature("compute_s", "s", "float", "Operator FLOPs per GPU / GPU peak FP16 FLOP/s."),
    c.Feature("memory_s", "s", "float", "Operator bytes moved per GPU / GPU memory bandwidth."),
    c.Feature(
        "roofline_s",
        "s",
        "float",
        "max(compute_s, memory_s); the output is this times the learned efficiency factor.",
    ),
]
OUTPUTS = [
    c.Output("time_s", "s", "Predicted median operator time", inverse="exp", scale_by="roofline_s")
]
PARTS = {"time_s": "time_s"}


# --- cost model ---------------------------------------------------------------------------


def operator_cost(df: pl.DataFrame) -> pl.DataFrame:
    """FLOPs and bytes per GPU of each row's operator, from the model dimensions.

    Needs columns operator, num_tokens, tensor_parallel, n_head, n_kv_head, n_embd,
    n_expanded_embd, use_gated_mlp. Dense fp16 arithmetic; a GEMM (m x k) @ (k x n) costs
    2mkn FLOPs and reads/writes its three matrices once.
    """
    n = pl.col("num_tokens").cast(pl.Float64)
    t = pl.col("tensor_parallel").cast(pl.Float64)
    h = pl.col("n_embd").cast(pl.Float64)
    f = pl.col("n_expanded_embd").cast(pl.Float64)
    d = h / pl.col("n_head").cast(pl.Float64)
    q_heads = pl.col("n_head").cast(pl.Float64)
    kv_heads = pl.col("n_kv_head").cast(pl.Float64)
    gated = pl.col("use_gated_mlp").fill_null(True)

    def gemm(k: pl.Expr, m: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        return 2.0 * n * k * m, BYTES * (n * k + k * m + n * m)

    qkv = (q_heads + 2.0 * kv_heads) * d / t
    up = pl.when(gated).then(2.0 * f / t).otherwise(f / t)
    rope = n * (q_heads + kv_heads) * d / t
    costs: dict[str, tuple[pl.Expr, pl.Expr]] = {
        "emb": (n * h, BYTES * 2.0 * n * h),
        "input_layernorm": (5.0 * n * h, BYTES * (2.0 * n * h + h)),
        "post_attention_layernorm": (5.0 * n * h, BYTES * (2.0 * n * h + h)),
        "attn_pre_proj": gemm(h, qkv),
        "attn_rope": (6.0 * rope, BYTES * 2.0 * rope + BYTES * 2.0 * n * d),
        "attn_post_proj": gemm(q_heads * d / t, h),
        "mlp_up_proj": gemm(h, up),
        "mlp_act": (5.0 * n * f / t, BYTES * (n * up + n * f / t)),
        "mlp_down_proj": gemm(f / t, h),
        "add": (n * h, BYTES * 3.0 * n * h),
    }
    op = pl.col("operator")
    flops: Any = pl.lit(None, dtype=pl.Float64)
    nbytes: Any = pl.lit(None, dtype=pl.Float64)
    for name, (fl, by) in costs.items():
        flops = pl.when(op == name).then(fl).otherwise(flops)
        nbytes = pl.when(op == name).then(by).otherwise(nbytes)
    out = df.with_columns(flops.alias("flops"), nbytes.alias("bytes"))
    unknown = out.filter(pl.col("flops").is_null())["operator"].unique().to_list()
    if unknown:
        raise c.PredictorDataError(
            f"No cost model for operator(s) {', '.join(map(str, unknown))}; known: "
            f"{', '.join(costs)}. Add it to predictors/batch_latency.operator_cost."
        )
    return out


def with_features(df: pl.DataFrame) -> pl.DataFrame:
    """Add the FEATURES columns (needs operator_cost's inputs and a `gpu` column)."""
    gpus = {g: gpu(g) for g in df["gpu"].unique().to_list()}
    peak = pl.col("gpu").replace_strict({k: v.peak_flops for k, v in gpus.items()})
    bw = pl.col("gpu").replace_strict({k: v.mem_bw for k, v in gpus.items()})
    out = operator_cost(df).with_columns(
        (pl.col("flops") / peak).alias("compute_s"),
        (pl.col("bytes") / bw).alias("memory_s"),
        pl.col("num_tokens").cast(pl.Float64),
        pl.col("tensor_parallel").cast(pl.Float64),
    )
    # The roofline as ONNX will see it: from float32 inputs, so output scaling matches.
    return out.with_columns(
        pl.max_horizontal("compute_s", "memory_s").cast(pl.Float32).alias("roofline_s")
    )


def operator_rows(
    config: dict[str, Any], gpu_name: str, tensor_parallel: int, num_tokens: Sequence[int]
) -> pl.DataFrame:
    """Feature rows for every operator of a model at each token count, for `predict`.

    config: n_head, n_kv_head, n_embd, n_expanded_embd, use_gated_mlp (as in Vidur's
    model configs) and optionally `operators` (default: the Llama set).
    """
    ops = config.get(
        "operators",
        [
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
        ],
    )
    rows = [
        {
            "operator": op,
            "num_tokens": int(n),
            "tensor_parallel": int(tensor_parallel),
            "gpu": gpu_name.lower(),
            **{k: config[k] for k in ("n_head", "n_kv_head", "n_embd", "n_expanded_embd")},
            "use_gated_mlp": bool(config.get("use_gated_mlp", True)),
        }
        for n in num_tokens
        for op in ops
    ]
    return with_features(pl.DataFrame(rows))


def batch_time(
    predictor: c.Predictor,
    config: dict[str, Any],
    gpu_name: str,
    tensor_parallel: int,
    num_tokens: Sequence[int],
    n_layers: int,
) -> np.ndarray:
    """Predicted time (s) of one batch iteration with each token count: the embedding once
    plus n_layers times the per-layer operators. Attention kernels and tensor-parallel
    all-reduce are not included (not in the profiles this model learns from)."""
    rows = operator_rows(config, gpu_name, tensor_parallel, num_tokens)
    t = predictor.predict(rows)
    per = rows.select("num_tokens", "operator").with_columns(pl.Series("t", t))
    layer = per.filter(pl.col("operator") != EMBEDDING).group_by("num_tokens").agg(pl.sum("t"))
    emb = per.filter(pl.col("operator") == EMBEDDING).group_by("num_tokens").agg(pl.sum("t"))
    total = (
        layer.join(emb, on="num_tokens", how="left", suffix="_emb")
        .with_columns((pl.col("t") * n_layers + pl.col("t_emb").fill_null(0.0)).alias("total"))
        .sort("num_tokens")
    )
    order = {int(n): i for i, n in enumerate(total["num_tokens"].to_list())}
    return np.array([total["total"][order[int(n)]] for n in num_tokens])


# --- data ---------------------------------------------------------------------------------


def load_operators(db: LakeDB, trace: str) -> pl.DataFrame:
    if not db.has(trace, "measurements"):
        raise c.PredictorDataError(
            f"Trace {trace!r} has no measurements table: the latency predictor needs Vidur "
            "operator profiles (llm_serving/vidur_profiling)."
        )
    df = db.sql(c.sql_file("vidur_operators"), trace=trace)
    if df.height == 0:
        raise c.PredictorDataError(
            f"Trace {trace!r} has no Vidur compute profiles (measurements with "
            "extra.profile = 'mlp' and metric 'median')."
        )
    return with_features(df)


# --- model --------------------------------------------------------------------------------


def _pipeline(seed: int, max_iter: int) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    numeric = [f.name for f in FEATURES if f.dtype == "float"]
    prep = ColumnTransformer(
        [
            ("operator", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["operator"]),
            ("numbers", "passthrough", numeric),
        ]
    )
    model = HistGradientBoostingRegressor(
        max_iter=max_iter,
        learning_rate=0.05,
        max_leaf_nodes=31,
        min_samples_leaf=20,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    return Pipeline([("prepare", prep), ("model", model)])


def _fit(train_df: pl.DataFrame, seed: int, max_iter: int) -> Any:
    x = c.model_frame(train_df, FEATURES)
    y = np.log(train_df["time_s"].to_numpy() / train_df["roofline_s"].to_numpy())
    return _pipeline(seed, max_iter).fit(x, y)


def baseline_tables(train_df: pl.DataFrame) -> dict[str, Any]:
    """Per-operator medians from training: efficiency (time/roofline) and time."""
    eff = train_df.group_by("operator").agg(
        (pl.col("time_s") / pl.col("roofline_s")).median().alias("eff"),
        pl.col("time_s").median().alias("time"),
    )
    return {
        "roofline_efficiency": dict(zip(eff["operator"], eff["eff"], strict=True)),
        "operator_time": dict(zip(eff["operator"], eff["time"], strict=True)),
        "all_efficiency": float(np.median(train_df["time_s"] / train_df["roofline_s"])),
        "all_time": float(np.median(train_df["time_s"].to_numpy())),
    }


def _metrics(df: pl.DataFrame, pred: np.ndarray) -> dict[str, float]:
    """MAPE over operator rows, per operator, and per layer (sum of non-embedding operators
    of one model configuration and token count)."""
    d = df.select("subject", "num_tokens", "operator", "time_s").with_columns(
        pl.Series("pred", np.asarray(pred, dtype=np.float64))
    )
    y, p = d["time_s"].to_numpy(), d["pred"].to_numpy()
    out = {"mape": c.mape(y, p), "mae_s": c.mae(y, p), "kendall_tau": c.kendall_tau(y, p)}
    layer = (
        d.filter(pl.col("operator") != EMBEDDING)
        .group_by("subject", "num_tokens")
        .agg(pl.sum("time_s"), pl.sum("pred"))
    )
    out["mape_layer"] = c.mape(layer["time_s"], layer["pred"])
    out["layer_rows"] = float(layer.height)
    for op in sorted(d["operator"].unique().to_list()):
        sel = d.filter(pl.col("operator") == op)
        out[f"mape_op_{op}"] = c.mape(sel["time_s"], sel["pred"])
    return out


def score(df: pl.DataFrame, pred: np.ndarray, tables: dict[str, Any]) -> dict[str, Any]:
    ops = df["operator"].to_list()
    roof = df["roofline_s"].to_numpy().astype(np.float64)
    eff = np.array([tables["roofline_efficiency"].get(o, tables["all_efficiency"]) for o in ops])
    med = np.array([tables["operator_time"].get(o, tables["all_time"]) for o in ops])
    base = {
        "roofline": _metrics(df, roof),
        "roofline_calibrated": _metrics(df, roof * eff),
        "operator_median": _metrics(df, med),
    }
    out: dict[str, Any] = {"model": _metrics(df, pred), "baselines": base}
    per_gpu = {}
    for g in sorted(df["gpu"].unique().to_list()):
        sel = (df["gpu"] == g).to_numpy()
        part = df.filter(pl.Series(sel))
        per_gpu[g] = {
            "model": _metrics(part, pred[sel]),
            "roofline_calibrated": _metrics(part, (roof * eff)[sel]),
            "rows": int(sel.sum()),
        }
    out["per_gpu"] = per_gpu
    return out


def _predict(pipeline: Any, df: pl.DataFrame) -> np.ndarray:
    return c.sklearn_predict({"time_s": pipeline}, FEATURES, OUTPUTS, df, PARTS)[:, 0]


def train(
    lake: Path,
    traces: Sequence[str],
    out: Path,
    holdout: str = DEFAULT_HOLDOUT,
    max_iter: int = 300,
    seed: int = 0,
    cross_validate: bool = True,
    skops_file: bool = True,
) -> c.TrainResult:
    """Fit on every model but `holdout`, score on `holdout` (grouped split by model), and
    repeat leave-one-model-out for every model (`cross_validation` in the card)."""
    db = c.open_lake(lake)
    try:
        data = pl.concat(
            [load_operators(db, t).with_columns(pl.lit(t).alias("trace")) for t in traces],
            how="diagonal_relaxed",
        )
        provenance = c.provenance(db, traces)
    finally:
        db.close()
    models = sorted(data["model"].unique().to_list())
    if len(models) < 2:
        raise c.PredictorDataError(
            f"Leave-one-model-out needs profiles of at least two models; found {models}."
        )
    labels = c.grouped_split(data["model"].to_numpy(), [holdout])
    train_df = data.filter(pl.Series(labels == "train"))
    test_df = data.filter(pl.Series(labels == "test"))

    cv: dict[str, Any] = {}
    if cross_validate:
        for m in models:
            lab = c.grouped_split(data["model"].to_numpy(), [m])
            tr, te = data.filter(pl.Series(lab == "train")), data.filter(pl.Series(lab == "test"))
            pipe = _fit(tr, seed, max_iter)
            s = score(te, _predict(pipe, te), baseline_tables(tr))
            cv[m] = c.evaluation(
                s["model"],
                s["baselines"],
                te.height,
                per_gpu=s["per_gpu"],
                trained_on=sorted(set(models) - {m}),
            )

    pipeline = _fit(train_df, seed, max_iter)
    tables = baseline_tables(train_df)
    s = score(test_df, _predict(pipeline, test_df), tables)
    card: dict[str, Any] = {
        "kind": KIND,
        "created_at": c.now_iso(),
        "target": {
            "name": "time_s",
            "unit": "s",
            "description": "Median measured GPU time of one operator call (Vidur profiles); "
            "the pipeline fits ln(time_s / roofline_s).",
        },
        "training": {
            "traces": provenance,
            "data": [{"trace": t} for t in traces],
            "models": sorted(train_df["model"].unique().to_list()),
            "gpus": sorted(train_df["gpu"].unique().to_list()),
        },
        "split": {
            "kind": "grouped by model (leave-one-model-out)",
            "test_groups": [holdout],
            "rows": {"train": train_df.height, "validation": 0, "test": test_df.height},
            "validation_use": "none: fixed hyperparameters",
        },
        "model": {
            "estimator": "HistGradientBoostingRegressor on one-hot(operator) + numeric features",
            "max_iter": max_iter,
        },
        "options": {"holdout": holdout, "seed": seed},
        "baselines": tables,
        "not_covered": "attention kernels and tensor-parallel all-reduce (absent from sample)",
    }
    card["metrics"] = {
        "test": c.evaluation(
            s["model"],
            s["baselines"],
            test_df.height,
            scope=f"held-out model {holdout}",
            per_gpu=s["per_gpu"],
        ),
        "cross_validation": cv,
    }
    card = c.export(out, card, {"time_s": pipeline}, FEATURES, OUTPUTS, PARTS, skops_file)
    result = c.TrainResult(KIND, Path(out), card, {"time_s": pipeline}, test_df)
    result.card["parity"] = c.parity(c.load(out), {"time_s": pipeline}, test_df)
    c.write_card(out, result.card)
    return result


def evaluate(predictor: c.Predictor, lake: Path, trace: str) -> dict[str, Any]:
    """Score on the trace's models that the model never saw (any GPU)."""
    card = predictor.card
    seen = set(card["training"]["models"])
    db = c.open_lake(lake)
    try:
        df = load_operators(db, trace)
    finally:
        db.close()
    df = df.filter(~pl.col("model").is_in(list(seen)))
    scope = f"models not used in training ({', '.join(sorted(seen))} excluded)"
    if df.height == 0:
        return c.evaluation({}, {}, 0, trace=trace, scope=scope)
    pred = predictor.predict(df)
    s = score(df, np.asarray(pred, dtype=np.float64), card["baselines"])
    return c.evaluation(
        s["model"], s["baselines"], df.height, trace=trace, scope=scope, per_gpu=s["per_gpu"]
    )
