"""The latency session a scheduler keeps: online == batch on the real Vidur profiles, request
checks that name the field, the batch-iteration form, and a light import."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from predictors import batch_latency as bl
from predictors.common import TrainResult, open_lake
from predictors.replay import predict_trace
from predictors.runtime import FeatureError, load
from predictors.runtime import roofline as rf

ROOT = Path(__file__).resolve().parents[2]
LLAMA2 = "meta-llama/Llama-2-7b-hf"
LLAMA2_DIMS = {
    "n_head": 32,
    "n_kv_head": 32,
    "n_embd": 4096,
    "n_expanded_embd": 11008,
    "use_gated_mlp": True,
}


@pytest.fixture(scope="module")
def replayed(latency: TrainResult, lake: Path) -> Any:
    db = open_lake(lake)
    try:
        return bl.replay(db, "vidur_profiling", latency.card)
    finally:
        db.close()


def test_online_equals_batch_on_every_row_of_the_real_profiles(
    latency: TrainResult, lake: Path, tmp_path: Path
) -> None:
    """`traces predict` in both modes: the batch features from the lake through the graph at
    once, and every row as a session request one at a time, agree to 1e-6 relative."""
    batch = predict_trace(latency.out, lake, "vidur_profiling", tmp_path / "b.parquet")
    online = predict_trace(
        latency.out, lake, "vidur_profiling", tmp_path / "o.parquet", online=True
    )
    b, o = pl.read_parquet(batch.out), pl.read_parquet(online.out)
    # every operator row of the lake's compute profiles, one per (GPU, model, degree, tokens)
    assert b.height == o.height == 41_091
    assert b.drop("time_s").equals(o.drop("time_s"))
    assert b.columns == [
        "trace", "row", "gpu", "model", "tensor_parallel", "num_tokens", "operator",
        "measured_time_s", "time_s",
    ]  # fmt: skip
    x, y = b["time_s"].to_numpy().astype(np.float64), o["time_s"].to_numpy().astype(np.float64)
    assert np.isfinite(x).all() and (x > 0).all()
    assert np.max(np.abs(x - y) / np.abs(x)) <= 1e-6


def test_session_features_are_the_batch_features(latency: TrainResult, replayed: Any) -> None:
    session = load(latency.out).session()
    feats = replayed.features
    for i in range(0, feats.height, 997):
        online = session.features(replayed.requests[i])
        for name in feats.columns:
            batch = feats[name][i]
            if isinstance(batch, str):
                assert online[name] == batch
            else:
                # the same IEEE double arithmetic: equal, not merely close
                assert online[name] == batch, (i, name)


def test_requests_carry_what_a_scheduler_knows(replayed: Any) -> None:
    req = replayed.requests[0]
    assert set(req) == {"operator", "num_tokens", "tensor_parallel", "model", "gpu"}
    assert all(obs == {} for obs in replayed.observations[:100])


def test_batch_iteration_is_the_embedding_plus_layers_times_the_operator_sum(
    latency: TrainResult,
) -> None:
    session = load(latency.out).session()
    base = {"model": LLAMA2, "gpu": "a40", "num_tokens": 512, "tensor_parallel": 2}
    per_op = {op: session.predict({**base, "operator": op})["time_s"] for op in rf.OPERATORS}
    layer = sum(v for op, v in per_op.items() if op != "emb")
    got = session.predict({**base, "n_layers": 32})
    assert got["layer_s"] == pytest.approx(layer, rel=1e-12)
    assert got["embedding_s"] == pytest.approx(per_op["emb"], rel=1e-12)
    assert got["time_s"] == pytest.approx(per_op["emb"] + 32 * layer, rel=1e-12)
    assert 1e-3 < got["time_s"] < 1.0  # 32 layers of a 512-token batch: milliseconds


def test_explicit_dimensions_and_peaks_equal_the_card_entries(latency: TrainResult) -> None:
    session = load(latency.out).session()
    by_name = {"model": LLAMA2, "gpu": "A100", "num_tokens": 96, "operator": "attn_pre_proj"}
    explicit = {
        **LLAMA2_DIMS,
        "peak_flops": 312e12,
        "mem_bw": 2039e9,
        "num_tokens": 96,
        "operator": "attn_pre_proj",
        "tensor_parallel": 1,
    }
    assert session.predict(by_name) == session.predict(explicit)


def test_a_slower_gpu_takes_longer(latency: TrainResult) -> None:
    session = load(latency.out).session()
    req = {"model": LLAMA2, "num_tokens": 2048, "n_layers": 32}
    times = {g: session.predict({**req, "gpu": g})["time_s"] for g in ("h100", "a100", "a40")}
    assert times["h100"] < times["a100"] < times["a40"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"num_tokens": None}, "'num_tokens' is missing"),
        ({"num_tokens": math.nan}, "'num_tokens' is nan"),
        ({"num_tokens": -4}, "'num_tokens' is -4.0, below 1"),
        ({"num_tokens": 2.5}, "'num_tokens' is 2.5, not a whole number"),
        ({"num_tokens": "512"}, "'num_tokens' must be a number"),
        ({"tensor_parallel": 0}, "'tensor_parallel' is 0.0, below 1"),
        ({"model": "gpt-2"}, "'model' is 'gpt-2', which the card does not know"),
        ({"model": None}, "'model' is missing"),
        ({"gpu": "b200"}, "'gpu' is 'b200', which the card does not know"),
        ({"gpu": None}, "'gpu' is missing"),
        ({"operator": "attn_decode"}, "'operator' is 'attn_decode'"),
        ({"operator": 3}, "'operator' must be text"),
        ({"peak_flops": 1e14}, "'peak_flops' and 'mem_bw' go together"),
        ({"n_embd": 4096}, "'n_head' is missing"),
        ({**LLAMA2_DIMS, "use_gated_mlp": 1}, "'use_gated_mlp' must be true or false"),
        ({**LLAMA2_DIMS, "n_embd": math.inf}, "'n_embd' is inf"),
    ],
)
def test_bad_requests_raise_naming_the_field(
    latency: TrainResult, change: dict[str, Any], message: str
) -> None:
    session = load(latency.out).session()
    req = {"model": LLAMA2, "gpu": "a100", "num_tokens": 64, "operator": "add", **change}
    req = {k: v for k, v in req.items() if v is not None}
    with pytest.raises(FeatureError, match=message.replace("(", r"\(").replace(".", r"\.")):
        session.predict(req)


def test_a_batch_iteration_needs_n_layers(latency: TrainResult) -> None:
    session = load(latency.out).session()
    with pytest.raises(FeatureError, match="'n_layers' is missing"):
        session.predict({"model": LLAMA2, "gpu": "a100", "num_tokens": 64})
    with pytest.raises(FeatureError, match="'operator' is missing: features"):
        session.features({"model": LLAMA2, "gpu": "a100", "num_tokens": 64})
    with pytest.raises(FeatureError, match="'operators' holds unknown"):
        session.predict(
            {"model": LLAMA2, "gpu": "a100", "num_tokens": 64, "n_layers": 2, "operators": ["x"]}
        )


def test_observe_accepts_a_measured_time_and_keeps_nothing(latency: TrainResult) -> None:
    session = load(latency.out).session()
    req = {"model": LLAMA2, "gpu": "h100", "num_tokens": 8, "operator": "mlp_act"}
    before = session.predict(req)
    session.observe(req, time_s=1.0)  # far from the prediction: still changes nothing
    assert session.predict(req) == before
    assert session.state_size() == {}
    with pytest.raises(FeatureError, match="'time_s' is nan"):
        session.observe(req, time_s=math.nan)
    with pytest.raises(FeatureError, match="observes only 'time_s'"):
        session.observe(req, output_tokens=3)
    with pytest.raises(FeatureError, match="'time_s' is 0"):
        session.observe(req, time_s=0)
    with pytest.raises(FeatureError, match="must be a mapping"):
        session.observe(5, time_s=1.0)  # type: ignore[arg-type]


def test_card_documents_the_session(latency: TrainResult) -> None:
    session_card = latency.card["session"]
    fields = " ".join(session_card["request_fields"])
    for name in ["operator", "num_tokens", "tensor_parallel", "model", "gpu", "n_layers"]:
        assert name in fields
    for name in [*rf.DIMS, "peak_flops", "mem_bw", "operators"]:
        assert name in fields
    assert "ignored" in session_card["observe_fields"]["time_s"]
    assert session_card["state"].startswith("none")


def test_the_session_imports_nothing_heavy(latency: TrainResult) -> None:
    code = (
        "import sys\n"
        "from predictors.runtime import load\n"
        f"s = load({str(latency.out)!r}).session()\n"
        f"out = s.predict({{'model': {LLAMA2!r}, 'gpu': 'a40', 'num_tokens': 7, "
        "'n_layers': 32})\n"
        "assert out['time_s'] > 0, out\n"
        "heavy = [m for m in ('polars', 'duckdb', 'sklearn', 'pyarrow', 'scipy', "
        "'predictors.common', 'predictors.batch_latency') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
