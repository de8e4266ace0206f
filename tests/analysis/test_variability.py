"""TUNA-style variability of the Azure VM Noise sample, against a plain loop over its raw CSVs.

Each file `.../test_suite=S/test_name=T/vm_lifespan=L/vm_region=R/vm_sku=K/unit=U.csv` holds
`value,runtime,starttime,VM_id`; one file is one partition. Everything below is recomputed from
those files with the csv module and the standard library.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analysis import variability, variability_report
from analysis.db import LakeDB

FOLDER = "vm_interference/azure_vm_noise_2024/vm-noise-data"
Key = tuple[str, str, str, str, str]  # (suite/test, unit, lifespan, region, sku)


def partitions(shared: Path) -> dict[Key, list[tuple[float, float]]]:
    """(benchmark, unit, lifespan, region, sku) -> [(epoch seconds, value)]."""
    out: dict[Key, list[tuple[float, float]]] = {}
    for f in sorted((shared / FOLDER).rglob("*.csv")):
        parts = dict(p.split("=", 1) for p in f.relative_to(shared / FOLDER).parts)
        bench = f"{parts['test_suite']}/{parts['test_name']}".replace("_", " ")
        unit = parts["unit"].removesuffix(".csv").replace("_s", "/s")
        key = (bench, unit, parts["vm_lifespan"], parts["vm_region"], parts["vm_sku"])
        with f.open(newline="") as fh:
            rows = []
            for r in csv.DictReader(fh):
                t = datetime.fromisoformat(r["starttime"]).replace(tzinfo=UTC)
                rows.append((t.timestamp(), float(r["value"])))
        out[key] = rows
    return out


@pytest.fixture(scope="module")
def raw(shared: Path) -> dict[Key, list[tuple[float, float]]]:
    return partitions(shared)


@pytest.fixture
def result(db: LakeDB) -> variability.VariabilityResult:
    r = variability.compute(db, "azure_vm_noise_2024")
    assert r is not None
    return r


def find(
    result: variability.VariabilityResult, bench: str, unit: str
) -> variability.BenchmarkVariability:
    return next(b for b in result.benchmarks if b.benchmark == bench and b.unit == unit)


def by_benchmark(raw: dict) -> dict[tuple[str, str], dict[Key, list[tuple[float, float]]]]:
    out: dict[tuple[str, str], dict] = defaultdict(dict)
    for key, rows in raw.items():
        out[key[:2]][key] = rows
    return out


def test_every_partition_and_run_is_there(result: variability.VariabilityResult, raw: dict) -> None:
    assert result.partitions.height == len(raw) == 40
    assert int(result.partitions["runs"].sum()) == sum(len(r) for r in raw.values()) == 301001
    assert len(result.benchmarks) == len(by_benchmark(raw)) == 5


def test_cv_per_lifespan_sku_and_region(result: variability.VariabilityResult, raw: dict) -> None:
    for (bench, unit), parts in by_benchmark(raw).items():
        cv = {
            k: statistics.stdev(v for _, v in rows) / statistics.mean(v for _, v in rows)
            for k, rows in parts.items()
        }
        b = find(result, bench, unit)
        for pos, field in ((2, b.cv_by_lifespan), (3, b.cv_by_region), (4, b.cv_by_sku)):
            values = {k[pos] for k in cv}
            want = {x: statistics.median(c for k, c in cv.items() if k[pos] == x) for x in values}
            assert field == pytest.approx(want, rel=1e-8), (bench, pos)
        assert b.short_over_long == pytest.approx(want_ratio(cv), rel=1e-8)


def want_ratio(cv: dict[Key, float]) -> float:
    short = statistics.median(c for k, c in cv.items() if k[2] == "short")
    long = statistics.median(c for k, c in cv.items() if k[2] == "long")
    return short / long


def test_tuna_medians_of_the_sample_notes(result: variability.VariabilityResult) -> None:
    """SOURCE.md: median per-partition CoV, long vs short (Redis 0.033 vs 0.102, ...)."""
    redis = result.benchmark("Redis/Test: GET", "requests_per_second")
    assert redis.cv_by_lifespan["long"] == pytest.approx(0.033, abs=5e-4)
    assert redis.cv_by_lifespan["short"] == pytest.approx(0.102, abs=5e-4)
    fio = result.benchmark("Flexible IO Tester/Type: Random Read", "iops")
    assert (fio.cv_by_lifespan["long"], fio.cv_by_lifespan["short"]) == pytest.approx(
        (0.185, 0.239), abs=5e-4
    )


def test_outlier_runs(result: variability.VariabilityResult, raw: dict) -> None:
    for (bench, unit), parts in by_benchmark(raw).items():
        outside = degraded = runs = 0
        per_life: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for key, rows in parts.items():
            values = [v for _, v in rows]
            med = statistics.median(values)
            lo = [v for v in values if v < med * 0.9]
            hi = [v for v in values if v > med * 1.1]
            outside += len(lo) + len(hi)
            degraded += len(hi) if unit == "ns" else len(lo)
            runs += len(values)
            per_life[key[2]][0] += len(lo) + len(hi)
            per_life[key[2]][1] += len(values)
        b = find(result, bench, unit)
        assert b.higher_is_worse == (unit == "ns")
        assert b.outlier_share == pytest.approx(outside / runs)
        assert b.degraded_share == pytest.approx(degraded / runs)
        assert b.outlier_share_by_lifespan == pytest.approx(
            {k: o / n for k, (o, n) in per_life.items()}
        )


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of value against days since the first run."""
    t0 = min(t for t, _ in points)
    xs = [(t - t0) / 86400 for t, _ in points]
    ys = [v for _, v in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def test_drift_over_time(result: variability.VariabilityResult, raw: dict) -> None:
    for (bench, unit), parts in by_benchmark(raw).items():
        drift = {
            k: slope(rows) * 30 / statistics.mean(v for _, v in rows) for k, rows in parts.items()
        }
        b = find(result, bench, unit)
        assert b.drift_median_abs == pytest.approx(
            statistics.median(abs(d) for d in drift.values()), rel=1e-6
        )
        worst = max(drift, key=lambda k: abs(drift[k]))
        assert b.drift_max == pytest.approx(drift[worst], rel=1e-6)
        assert b.drift_max_partition == "/".join(worst[2:])
        # 30-day windows of runs over their partition's mean, long-lived VMs, >= 30 runs
        windows: dict[int, list[float]] = defaultdict(list)
        for key, rows in parts.items():
            if key[2] == "long":
                mean = statistics.mean(v for _, v in rows)
                for t, v in rows:
                    windows[int(t // 2_592_000)].append(v / mean)
        levels = [statistics.mean(w) for w in windows.values() if len(w) >= 30]
        assert b.window_swing_by_lifespan["long"] == pytest.approx(
            max(levels) - min(levels), rel=1e-6
        )


def test_only_timed_runs(db: LakeDB) -> None:
    assert variability.compute(db, "vidur_profiling") is None  # profiles: no clock
    assert variability.compute(db, "alibaba_pai_minibatch_2020") is None  # iterations
    assert variability.compute(db, "mooncake_conversation") is None


def test_section(result: variability.VariabilityResult) -> None:
    s = variability_report.section(result)
    assert s.key == "variability" and len(s.figures) == 3
    redis = next(f for f in s.findings if f.startswith("Redis/Test: GET (requests_per_second):"))
    assert "0.0333 on long-lived VMs and 0.102 on short-lived ones (3.07x)" in redis
    assert any(f.startswith("Short-lived VMs") and "every benchmark" in f for f in s.findings)
    cv = s.figures[0]
    assert [t.name for t in cv.data] == ["long-lived VMs", "short-lived VMs"]
    assert all(text.startswith("n=") for t in cv.data for text in t.text)  # group sizes shown
    key = "Redis/Test: GET - Parallel Connections: 50 | requests_per_second"
    assert s.numbers["benchmarks"][key]["partitions"] == 8
