"""VM interference: features, baselines and held-out scores against plain loops over the raw
CSV files of the Azure VM Noise sample (csv module, not our readers), the blend, the
leave-one-benchmark-out evaluation and the short-lived rows."""

from __future__ import annotations

import csv
import math
import statistics
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from predictors import api, load
from predictors import common as c
from predictors import interference as vm
from predictors.common import TrainResult
from tests.conftest import SHARED

NOISE = SHARED / "vm_interference" / "azure_vm_noise_2024" / "vm-noise-data"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REDIS = "Redis/Test: GET - Parallel Connections: 50 | requests_per_second"
STRESS = "Stress-NG/Test: CPU Stress | bogo_ops_s"


@dataclass(frozen=True)
class Run:
    life: str
    region: str
    sku: str
    vm_id: str
    start_us: int
    known_us: int
    value: float

    @property
    def vm(self) -> str:
        return f"{self.life}/{self.region}/{self.sku}/{self.vm_id}"

    @property
    def key(self) -> str:
        return f"{self.sku}|{self.region}"


def _files(suite: str) -> Iterator[tuple[dict[str, str], Path]]:
    for path in sorted((NOISE / f"test_suite={suite}").rglob("*.csv")):
        parts = dict(p.split("=", 1) for p in path.parent.parts if "=" in p)
        yield parts, path


@cache
def raw_runs(suite: str) -> tuple[Run, ...]:
    """Every row of a benchmark suite's files, read with the csv module."""
    out = []
    for parts, path in _files(suite):
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                start = datetime.fromisoformat(row["starttime"]).replace(tzinfo=UTC)
                us = (start - EPOCH) // timedelta(microseconds=1)
                runtime = float(row["runtime"])
                out.append(
                    Run(
                        parts["vm_lifespan"],
                        parts["vm_region"],
                        parts["vm_sku"],
                        row["VM_id"],
                        us,
                        us + math.floor(runtime * 1_000_000 + 0.5),
                        float(row["value"]),
                    )
                )
    return tuple(out)


def by_vm(runs: tuple[Run, ...] | list[Run]) -> dict[str, list[Run]]:
    out: dict[str, list[Run]] = defaultdict(list)
    for r in runs:
        out[r.vm].append(r)
    for v in out.values():
        v.sort(key=lambda r: (r.known_us, r.start_us))
    return out


def bounds(card: dict) -> dict[str, int]:
    return dict(card["training"]["data"][0]["split"]["bounds_us"])


def mae(pairs: list[tuple[float, float]]) -> float:
    return sum(abs(a - b) for a, b in pairs) / len(pairs)


def f1(pairs: list[tuple[float, float]]) -> float | None:
    """F1 of flags "prediction < 0.9" against "truth < 0.9" (Redis: higher is better)."""
    tp = sum(1 for t, p in pairs if t < 0.9 and p < 0.9)
    flagged = sum(1 for _, p in pairs if p < 0.9)
    true = sum(1 for t, _ in pairs if t < 0.9)
    if not flagged or not true or not tp:
        return None if not flagged or not true else 0.0
    precision, recall = tp / flagged, tp / true
    return 2 * precision * recall / (precision + recall)


def test_short_lived_ids_have_one_run_per_file_and_long_lived_ids_many() -> None:
    """The fact the handling of short-lived rows rests on, from the raw files."""
    for suite in ("Redis", "Stress-NG", "Intel_Memory_Latency_Checker", "Flexible_IO_Tester"):
        for parts, path in _files(suite):
            with path.open(newline="") as f:
                runs = Counter(row["VM_id"] for row in csv.DictReader(f))
            if parts["vm_lifespan"] == "short":
                assert set(runs.values()) == {1}, path
            else:
                assert len(runs) == 3 and min(runs.values()) > 100, path


def test_medians_and_baselines_match_plain_loops_over_the_raw_files(
    interference: TrainResult,
) -> None:
    card = interference.card
    b = bounds(card)
    long = [r for r in raw_runs("Redis") if r.life == "long"]
    train: dict[str, list[float]] = defaultdict(list)
    for r in long:
        if r.start_us < b["validation_start"]:
            train[r.key].append(r.value)
    medians = {k: statistics.median(v) for k, v in train.items()}
    assert medians.keys() == card["baselines"]["sku_region_median"].keys()
    for k, m in medians.items():
        assert card["baselines"]["sku_region_median"][k] == pytest.approx(m, rel=1e-12)

    previous, recent, per_vm, flat = [], [], [], []
    for runs in by_vm(long).values():
        vm_train = [r.value / medians[r.key] for r in runs if r.start_us < b["validation_start"]]
        vm_median = statistics.median(vm_train)
        known = [r.known_us for r in runs]  # sorted
        for r in runs:
            if r.start_us < b["test_start"]:
                continue
            ratio = r.value / medians[r.key]
            cut = bisect_left(known, r.start_us)  # the runs known strictly before r starts
            seen = [p.value / medians[p.key] for p in runs[max(0, cut - 5) : cut]]
            previous.append((ratio, seen[-1]))
            recent.append((ratio, statistics.median(seen)))
            per_vm.append((ratio, vm_median))
            flat.append((ratio, 1.0))
    test = card["metrics"]["test"]
    assert test["rows"] == len(previous) == card["split"]["rows"]["test"]
    base = test["baselines"]
    assert base["previous_run"]["mae"] == pytest.approx(mae(previous), rel=1e-9)
    assert base["recent_median"]["mae"] == pytest.approx(mae(recent), rel=1e-9)
    assert base["vm_median"]["mae"] == pytest.approx(mae(per_vm), rel=1e-9)
    assert base["sku_region_median"]["mae"] == pytest.approx(mae(flat), rel=1e-9)
    want_f1 = f1(previous)
    got_f1 = base["previous_run"]["f1_degraded"]
    assert got_f1 is None if want_f1 is None else got_f1 == pytest.approx(want_f1)
    # The bar: on held-out runs the model does not lose to persistence, nor to the
    # other naive baselines a scheduler could use instead.
    model = test["model"]["mae"]
    assert model < mae(previous)
    assert model < mae(recent)
    assert model < mae(per_vm)
    assert model < mae(flat)


def test_features_match_a_plain_loop_over_the_raw_files(interference: TrainResult) -> None:
    card = interference.card
    medians = card["baselines"]["sku_region_median"]
    stress_medians = card["baselines"]["probe_medians"][STRESS]
    redis = by_vm([r for r in raw_runs("Redis") if r.life == "long"])
    stress = by_vm([r for r in raw_runs("Stress-NG") if r.life == "long"])
    rows = interference.test_rows
    assert rows is not None
    gap = card["options"]["max_gap_h"] * 3_600_000_000
    stress_col = vm.probe_name(STRESS)
    checked = 0
    for i in range(0, rows.height, rows.height // 150):
        row = rows.row(i, named=True)
        seen = [
            r.value / medians[r.key] for r in redis[row["subject"]] if r.known_us < row["ts_us"]
        ][::-1][:10]
        last_known = max(r.known_us for r in redis[row["subject"]] if r.known_us < row["ts_us"])
        want = {
            "target_last": seen[0],
            "target_mean3": statistics.fmean(seen[:3]),
            "target_min5": min(seen[:5]),
            "target_max5": max(seen[:5]),
            "target_mean10": statistics.fmean(seen),
            "target_count": float(len(seen)),
            "target_anchor": statistics.median(seen[:5]),
            "target_age_h": (row["ts_us"] - last_known) / 3_600_000_000,
        }
        for name, value in want.items():
            assert row[name] == pytest.approx(value, rel=1e-12), (i, name)
        probes = [r for r in stress[row["subject"]] if r.known_us < row["ts_us"]]
        if probes and row["ts_us"] - probes[-1].known_us <= gap:
            assert row[stress_col] == pytest.approx(
                probes[-1].value / stress_medians[probes[-1].key], rel=1e-12
            )
        else:
            assert row[stress_col] is None or math.isnan(row[stress_col])
        start = datetime.fromtimestamp(row["ts_us"] / 1e6, UTC)
        assert row["hour_of_day"] == start.hour + start.minute / 60
        assert row["weekday"] == start.isoweekday()
        checked += 1
    assert checked >= 150


def test_the_output_is_the_anchor_times_the_weighted_correction(
    interference: TrainResult,
) -> None:
    card, rows = interference.card, interference.test_rows
    assert rows is not None
    w = card["model"]["weight"]
    assert 0.0 <= w <= 1.0
    blend = interference.pipelines["ratio"]
    trees, zero = blend.estimators_
    x = c.model_frame(rows, load(interference.out).features)
    assert np.all(zero.predict(x) == 0.0)
    np.testing.assert_allclose(blend.predict(x), w * trees.predict(x), rtol=1e-12, atol=1e-15)
    onnx = load(interference.out).predict(rows)
    want = rows["target_anchor"].to_numpy() * np.exp(w * trees.predict(x))
    np.testing.assert_allclose(onnx, want, rtol=1e-5)


def test_parity_onnx_vs_sklearn_on_test_rows(interference: TrainResult) -> None:
    assert interference.card["parity"]["max_rel_diff"] < 1e-4
    assert interference.test_rows is not None
    check = c.parity(
        c.load(interference.out), c.load_pipelines(interference.out), interference.test_rows
    )
    assert check["max_rel_diff"] < 1e-4


def test_leave_one_benchmark_out_scores_redis_without_any_redis_row(
    interference: TrainResult,
) -> None:
    card = interference.card
    lobo = card["metrics"]["leave_one_benchmark_out"]
    assert lobo["benchmark"] == "Redis/Test: GET - Parallel Connections: 50"
    assert not any(b.startswith("Redis") for b in lobo["trained_on"])
    assert len(lobo["trained_on"]) == 3
    b = bounds(card)
    window = [r for r in raw_runs("Redis") if r.life == "long" and r.start_us >= b["test_start"]]
    assert lobo["rows"] == len(window)
    values: dict[str, list[float]] = defaultdict(list)
    for r in window:
        values[r.key].append(r.value)
    medians = {k: statistics.median(v) for k, v in values.items()}
    flat = [(r.value / medians[r.key], 1.0) for r in window]
    previous = []
    for runs in by_vm(window).values():
        known = [r.known_us for r in runs]
        for r in runs:
            seen = runs[max(0, bisect_left(known, r.start_us) - 1) : bisect_left(known, r.start_us)]
            if seen:
                previous.append((r.value / medians[r.key], seen[-1].value / medians[r.key]))
    base = lobo["baselines"]
    assert base["sku_region_median"]["mae"] == pytest.approx(mae(flat), rel=1e-9)
    assert base["previous_run"]["mae"] == pytest.approx(mae(previous), rel=1e-9)
    assert base["previous_run"]["scored"] == len(previous)
    assert lobo["model"]["scored"] == len(window)
    assert math.isfinite(lobo["model"]["mae"])


def test_short_lived_rows_are_scored_apart_with_no_history_and_no_probe(
    interference: TrainResult,
) -> None:
    card = interference.card
    b = bounds(card)
    medians = card["baselines"]["sku_region_median"]
    short = [r for r in raw_runs("Redis") if r.life == "short" and r.start_us >= b["test_start"]]
    scored = card["metrics"]["test_short_lived"]
    assert scored["rows"] == len(short) > 1000
    flat = [(r.value / medians[r.key], 1.0) for r in short]
    assert scored["baselines"]["sku_region_median"]["mae"] == pytest.approx(mae(flat), rel=1e-9)
    assert card["options"]["train_short_lived"] is True
    # what the model gives a VM it has never seen beats the SKU/region median on them
    assert scored["model"]["mae"] < mae(flat)


def test_evaluation_on_the_seen_trace_carries_every_baseline_and_the_lobo(
    interference: TrainResult, lake: Path
) -> None:
    card = interference.card
    ev = api.evaluate(interference.out, lake, "azure_vm_noise_2024")
    assert ev["rows"] == card["split"]["rows"]["test"]
    assert ev["scope"].startswith("test window")
    assert set(ev["baselines"]) == {
        "previous_run",
        "recent_median",
        "vm_median",
        "sku_region_median",
        "global_median",
    }
    assert ev["model"]["mae"] == pytest.approx(card["metrics"]["test"]["model"]["mae"], rel=1e-6)
    assert ev["leave_one_benchmark_out"] == card["metrics"]["leave_one_benchmark_out"]


def test_any_benchmark_can_be_the_target(lake: Path, tmp_path: Path) -> None:
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
    assert r.card["probes"] == [STRESS]
    assert r.card["parity"]["max_rel_diff"] < 1e-4
    lobo = r.card["metrics"]["leave_one_benchmark_out"]
    assert lobo["benchmark"] == "Intel Memory Latency Checker/Test: Idle Latency"
    assert lobo["rows"] > 0 and math.isfinite(lobo["model"]["mae"])
    m = load(tmp_path / "mlc")
    row = {f: None for f in m.feature_names} | {
        "sku": "B8ms",
        "region": "eastus",
        "target_count": 0.0,
        "target_anchor": 1.0,
        "hour_of_day": 12.0,
        "weekday": 3.0,
    }
    assert np.isfinite(m.predict([row])).all()


def test_unknown_target_lists_the_series(lake: Path, tmp_path: Path) -> None:
    with pytest.raises(c.PredictorUsageError, match=r"matches no benchmark series\. Series: "):
        api.train("interference", lake, ["azure_vm_noise_2024"], tmp_path / "x", target="nope")


def test_other_metrics_of_the_target_run_are_not_probes() -> None:
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
