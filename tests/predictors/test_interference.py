"""VM interference: the per-VM join, parity, time split, evaluation."""

from __future__ import annotations

import polars as pl
import pytest

from analysis.db import LakeDB
from predictors import api, load
from predictors import common as c
from predictors import interference as vm


def test_parity_onnx_vs_sklearn_on_test_rows(interference):
    assert interference.card["parity"]["max_rel_diff"] < 1e-4
    check = c.parity(
        load(interference.out), c.load_pipelines(interference.out), interference.test_rows
    )
    assert check["max_rel_diff"] < 1e-4


def test_join_uses_long_lived_vms_and_only_earlier_probes(lake):
    db = LakeDB(lake)
    runs = vm.load_runs(db, "azure_vm_noise_2024")
    db.close()
    target, probes = vm.pick(runs["series"].unique().to_list(), "redis", None)
    assert target.startswith("Redis/Test: GET")
    j = vm.joined(runs, target, probes, max_gap_h=4.0)
    assert j["subject"].str.starts_with("long/").all()
    assert j["subject"].n_unique() == 12
    # Every joined probe value is the latest run of that probe on the same VM before the target.
    stress = next(p for p in probes if p.startswith("Stress-NG"))
    col = vm.probe_name(stress)
    probe_runs = runs.filter((pl.col("series") == stress) & (pl.col("lifespan") == "long"))
    sample = j.filter(pl.col(col).is_not_null()).head(50)
    for subject, ts, value in sample.select("subject", "ts", col).iter_rows():
        earlier = probe_runs.filter((pl.col("subject") == subject) & (pl.col("ts") <= ts))
        last = earlier.sort("ts").tail(1)
        assert last["value"][0] == value
        assert (ts - last["ts"][0]).total_seconds() <= 4 * 3600


def test_time_split_and_evaluation_on_the_seen_trace(interference, lake):
    card = interference.card
    assert card["training"]["vms"] == 12
    ev = api.evaluate(interference.out, lake, "azure_vm_noise_2024")
    assert ev["rows"] == card["split"]["rows"]["test"]
    assert ev["scope"].startswith("test window")
    assert {"sku_region_median", "global_median", "vm_median", "previous_run"} <= set(
        ev["baselines"]
    )
    assert {"mae", "precision_degraded", "recall_degraded"} <= set(ev["model"])
    # Ratios are to SKU-region medians of training rows: the median baseline predicts 1.
    assert ev["baselines"]["sku_region_median"]["mae"] > 0


def test_any_benchmark_can_be_the_target(lake, tmp_path):
    r = api.train(
        "interference",
        lake,
        ["azure_vm_noise_2024"],
        tmp_path / "mlc",
        target="Idle Latency",
        probes=["Stress-NG"],
        max_iter=20,
        skops_file=False,
    )
    assert r.card["baselines"]["lower_is_better"] is True
    assert r.card["probes"] == ["Stress-NG/Test: CPU Stress | bogo_ops_s"]
    assert r.card["parity"]["max_rel_diff"] < 1e-4
    m = load(tmp_path / "mlc")
    row = {f: None for f in m.feature_names} | {"sku": "B8ms", "region": "eastus"}
    assert m.predict([row]).shape == (1,)


def test_unknown_target_lists_the_series(lake, tmp_path):
    with pytest.raises(c.PredictorUsageError, match=r"matches no benchmark series\. Series: "):
        api.train("interference", lake, ["azure_vm_noise_2024"], tmp_path / "x", target="nope")


def test_other_metrics_of_the_target_run_are_not_probes():
    series = [
        "FIO/Random Read | iops",
        "FIO/Random Read | mib_s",
        "Redis/Test: GET | requests_per_second",
    ]
    target, probes = vm.pick(series, "iops", None)
    assert target == "FIO/Random Read | iops"
    assert probes == ["Redis/Test: GET | requests_per_second"]
    with pytest.raises(c.PredictorUsageError, match="other than the target's own benchmark"):
        vm.pick(series, "iops", ["mib_s"])
