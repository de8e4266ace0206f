"""The interference session a scheduler embeds: online features equal the batch features of
training on the real Azure VM Noise sample, time semantics, errors, bounded state, and the
light runtime (no polars, pyarrow, duckdb or scikit-learn imported)."""

from __future__ import annotations

import json
import math
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.db import LakeDB
from predictors import interference as vm
from predictors.common import TrainResult
from predictors.replay import Replay, batch_predictions, online_predictions
from predictors.runtime import FeatureError, PredictorUsageError
from predictors.runtime import load as light_load
from tests.conftest import ROOT

TRACE = "azure_vm_noise_2024"
H = 3600 * 1_000_000  # µs
T0 = 1_700_000_000_000_000  # 2023-11-14 22:13:20 UTC, in µs


@pytest.fixture(scope="module")
def replay(interference: TrainResult, lake: Path) -> Replay:
    db = LakeDB(lake)
    try:
        return vm.replay(db, TRACE, interference.card)
    finally:
        db.close()


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float((np.abs(a - b) / np.maximum(np.abs(b), 1e-12)).max())


def test_online_features_equal_batch_features_on_every_row_of_the_sample(
    interference: TrainResult, replay: Replay
) -> None:
    """Every row of the sample (each long-lived run of the target and probes, each
    short-lived run of the target) through one session, observed after its prediction: the
    session's features are the batch features as ONNX sees them (float32, NaN where NaN),
    and the model on them gives the batch predictions to 1e-6 relative."""
    model = light_load(interference.out)
    session = model.session(**replay.session_options)
    names = model.feature_names
    online: dict[str, list[Any]] = {n: [] for n in names}
    for request, seen in zip(replay.requests, replay.observations, strict=True):
        feats = session.features(request)
        for n in names:
            online[n].append(feats[n])
        session.observe(request, **seen)
    assert replay.keys.height > 200_000
    for f in model.features:
        if f.dtype == "string":
            assert online[f.name] == replay.features[f.name].to_list(), f.name
            continue
        got = np.asarray(online[f.name], dtype=np.float32)
        want = replay.features[f.name].cast(float).fill_null(np.nan).to_numpy().astype(np.float32)
        same = (got == want) | (np.isnan(got) & np.isnan(want))
        assert same.all(), (f.name, int(np.flatnonzero(~same)[0]))
    batch = batch_predictions(model, replay)
    from_session = model.run(
        {
            f.name: np.asarray(
                online[f.name], dtype=object if f.dtype == "string" else np.float32
            ).reshape(-1, 1)
            for f in model.features
        }
    )
    assert np.isfinite(batch).all()
    assert _rel(from_session, batch) <= 1e-6
    state = session.state_size()
    assert state["evicted_vms"] == 0
    assert state["target_runs"] <= state["vms"] * vm.HISTORY_RUNS + 2 * state["vms"]


def test_online_predictions_through_session_predict_equal_batch(
    interference: TrainResult, replay: Replay
) -> None:
    """The replay `traces predict --online` runs (session.predict, then observe), on the first
    40,000 rows in start order (every feature of a row depends on earlier rows only)."""
    n = 40_000
    part = Replay(
        replay.keys.head(n),
        replay.features.head(n),
        replay.requests[:n],
        replay.observations[:n],
        replay.session_options,
    )
    model = light_load(interference.out)
    assert _rel(online_predictions(model, part), batch_predictions(model, part)) <= 1e-6


@pytest.mark.slow
def test_traces_predict_online_equals_batch_on_the_whole_sample(
    interference: TrainResult, lake: Path, tmp_path: Path, cli: Any
) -> None:
    import polars as pl

    batch, online = tmp_path / "batch.parquet", tmp_path / "online.parquet"
    model = interference.out
    code, _, err = cli("predict", model, "--lake", lake, "--trace", TRACE, "--out", batch)
    assert code == 0, err
    code, _, err = cli(
        "predict", model, "--lake", lake, "--trace", TRACE, "--out", online, "--online"
    )
    assert code == 0, err
    a, b = pl.read_parquet(batch), pl.read_parquet(online)
    assert a.height == b.height > 200_000
    assert _rel(b["ratio"].to_numpy(), a["ratio"].to_numpy()) <= 1e-6
    assert a.drop("ratio").equals(b.drop("ratio"))


def test_replay_never_joins_a_short_lived_id_to_another_benchmark(replay: Replay) -> None:
    keys = replay.keys
    short = keys.filter(keys["lifespan"] == "short")
    target = short["series"].unique().to_list()
    assert len(target) == 1 and target[0].startswith("Redis")
    rows = replay.features.filter(keys["lifespan"] == "short")
    assert (rows["target_count"] == 0).all() and (rows["target_anchor"] == 1.0).all()
    for name in rows.columns:
        if name.startswith("probe_"):
            assert rows[name].fill_nan(None).null_count() == rows.height, name


# --- the session's rules, on hand-made runs ------------------------------------------------


def _where(vm_id: str = "vm-a") -> dict[str, Any]:
    return {"vm": vm_id, "sku": "D8s_v5", "region": "eastus"}


def test_history_features_by_hand(interference: TrainResult) -> None:
    model = light_load(interference.out)
    card = model.card
    median = card["baselines"]["sku_region_median"]["D8s_v5|eastus"]
    session = model.session()
    ratios = [1.0, 0.8, 1.1, 0.95, 0.7, 1.2, 0.9]
    for i, r in enumerate(ratios):
        run = _where() | {"ts_us": T0 + i * H, "runtime_s": 60.0}
        session.observe(run, value=r * median)
    f = session.features(_where() | {"ts_us": T0 + 10 * H})
    newest = ratios[::-1]
    assert f["target_last"] == pytest.approx(0.9)
    assert f["target_mean3"] == pytest.approx(statistics.fmean(newest[:3]))
    assert f["target_min5"] == pytest.approx(0.7)
    assert f["target_max5"] == pytest.approx(1.2)
    assert f["target_mean10"] == pytest.approx(statistics.fmean(ratios))
    assert f["target_anchor"] == pytest.approx(statistics.median(newest[:5]))
    assert f["target_count"] == 7.0
    assert f["target_age_h"] == pytest.approx(4.0 - 60 / 3600)
    out = session.predict(_where() | {"ts_us": T0 + 10 * H})
    assert set(out) == {"ratio"} and math.isfinite(out["ratio"])


def test_a_run_is_visible_only_once_it_has_finished(interference: TrainResult) -> None:
    model = light_load(interference.out)
    card = model.card
    median = card["baselines"]["sku_region_median"]["D8s_v5|eastus"]
    session = model.session()
    session.observe(_where() | {"ts_us": T0, "runtime_s": 30.0}, value=0.5 * median)
    during = session.features(_where() | {"ts_us": T0 + 30_000_000})
    after = session.features(_where() | {"ts_us": T0 + 30_000_001})
    assert during["target_count"] == 0.0 and math.isnan(during["target_last"])
    assert during["target_anchor"] == 1.0
    assert after["target_count"] == 1.0 and after["target_last"] == pytest.approx(0.5)


def test_a_probe_counts_only_while_it_is_recent(interference: TrainResult) -> None:
    model = light_load(interference.out)
    card = model.card
    probe = next(p for p in card["probes"] if p.startswith("Stress-NG"))
    name = card["probe_features"][probe]
    median = card["baselines"]["probe_medians"][probe]["D8s_v5|eastus"]
    gap_h = card["options"]["max_gap_h"]
    session = model.session()
    session.observe(_where() | {"ts_us": T0, "series": probe}, value=0.8 * median)
    assert session.features(_where() | {"ts_us": T0 + 1})[name] == pytest.approx(0.8)
    edge = T0 + round(gap_h * H)
    assert session.features(_where() | {"ts_us": edge})[name] == pytest.approx(0.8)
    assert math.isnan(session.features(_where() | {"ts_us": edge + 1})[name])
    # another VM never sees it
    assert math.isnan(session.features(_where("vm-b") | {"ts_us": T0 + 1})[name])


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        ({"sku": "D8s_v5", "region": "eastus", "ts_us": T0}, "'vm' is missing"),
        ({"vm": "a", "sku": "F2", "region": "eastus", "ts_us": T0}, "no median for"),
        ({"vm": "a", "sku": "D8s_v5", "region": "eastus"}, "time is missing"),
        ({"vm": "a", "sku": "D8s_v5", "region": "eastus", "ts": math.nan}, "'ts' is nan"),
        ({"vm": 7, "sku": "D8s_v5", "region": "eastus", "ts_us": T0}, "'vm' must be text"),
    ],
)
def test_bad_requests_name_the_field(
    interference: TrainResult, request_: dict[str, Any], match: str
) -> None:
    session = light_load(interference.out).session()
    with pytest.raises(FeatureError, match=match):
        session.predict(request_)
    with pytest.raises(FeatureError, match=match):
        session.observe(request_, value=1.0)


def test_bad_observations_name_the_problem(interference: TrainResult) -> None:
    model = light_load(interference.out)
    session = model.session()
    run = _where() | {"ts_us": T0}
    with pytest.raises(FeatureError, match="'value' is nan"):
        session.observe(run, value=math.nan)
    with pytest.raises(FeatureError, match="neither the target"):
        session.observe(run | {"series": "Nope | x"}, value=1.0)
    with pytest.raises(FeatureError, match=re.escape("'runtime_s' is -1.0, below 0")):
        session.observe(run | {"runtime_s": -1.0}, value=1.0)
    with pytest.raises(PredictorUsageError, match="value=X"):
        session.observe(run, output_tokens=3)
    assert session.state_size()["vms"] == 0  # nothing half-recorded


def test_state_is_capped_least_recently_used_first(interference: TrainResult) -> None:
    model = light_load(interference.out)
    card = model.card
    median = card["baselines"]["sku_region_median"]["D8s_v5|eastus"]
    session = model.session(vms=2, runs_per_vm=3)
    for i in range(5):
        session.observe(_where("a") | {"ts_us": T0 + i * H}, value=median)
    session.observe(_where("b") | {"ts_us": T0}, value=median)
    session.predict(_where("a") | {"ts_us": T0 + 9 * H})  # a is now the most recent
    session.observe(_where("c") | {"ts_us": T0}, value=median)  # evicts b
    assert session.state_size() == {"vms": 2, "target_runs": 4, "probe_runs": 0, "evicted_vms": 1}
    assert session.features(_where("a") | {"ts_us": T0 + 9 * H})["target_count"] == 3.0
    assert session.features(_where("b") | {"ts_us": T0 + 9 * H})["target_count"] == 0.0
    with pytest.raises(PredictorUsageError, match="Unknown session limit"):
        model.session(streams=3)


def test_the_card_documents_the_session(interference: TrainResult) -> None:
    card = interference.card
    s = card["session"]
    assert {"vm", "sku", "region", "series", "runtime_s"} <= set(s["request_fields"])
    assert set(s["observe_fields"]) == {"value"}
    for word in ("vms", "runs_per_vm", "runs_per_probe", "least recently used"):
        assert word in s["state"]
    from predictors.runtime.interference import InterferenceSession

    assert InterferenceSession.LIMITS == {"vms": 10_000, "runs_per_vm": 12, "runs_per_probe": 2}
    assert {o["name"]: o["unit"] for o in card["outputs"]} == {"ratio": "ratio"}


def test_the_session_imports_no_heavy_library(interference: TrainResult) -> None:
    code = f"""
import json, sys
from predictors.runtime import load
s = load({str(interference.out)!r}).session()
r = {{"vm": "a", "sku": "D8s_v5", "region": "eastus", "ts": 1.7e9}}
s.observe(r, value=1.0e6)
out = s.predict(dict(r, ts=1.7e9 + 7200))
heavy = sorted(m for m in ("polars", "pyarrow", "duckdb", "sklearn", "scipy", "pandas")
               if m in sys.modules)
print(json.dumps({{"out": out, "heavy": heavy}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout)
    assert result["heavy"] == []
    assert math.isfinite(result["out"]["ratio"])
