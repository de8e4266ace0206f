"""Utilization series: every number against a plain loop over the raw sample files.

Alibaba 2018 machine_usage.csv is header-less: machine_id, time_stamp (s), cpu_util_percent,
mem_util_percent, mem_gps, mkpi, net_in, net_out, disk_io_percent; -1 (and 101, except for
mkpi) mark invalid values, an empty field a metric not recorded, time_stamp 0 a sample outside
the window (no time: it counts in distributions, not in time bins). The GenAI 2026 archives
hold timestamp_anon (s), value (ms), container_ip.
"""

from __future__ import annotations

import csv
import io
import math
import tarfile
from collections import defaultdict
from pathlib import Path

import pytest

from analysis import utilization, utilization_report
from analysis.db import LakeDB

USAGE = "datacenter/alibaba_v2018_machine_prefix/machine_usage.csv"
COLUMNS = {"cpu_util_percent": 2, "mem_util_percent": 3, "mpki": 5, "disk_io_percent": 8}
GENAI = "llm_serving/alibaba_genai_gentd26"


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (pos - lo) * (v[hi] - v[lo])


def raw_usage(shared: Path) -> dict[str, list[tuple[str, int, float | None]]]:
    """metric -> [(machine, time_stamp, value or None when invalid)] for the recorded fields."""
    out: dict[str, list[tuple[str, int, float | None]]] = defaultdict(list)
    with (shared / USAGE).open(newline="") as f:
        for row in csv.reader(f):
            for metric, i in COLUMNS.items():
                if row[i] == "":
                    continue
                v = float(row[i])
                invalid = v == -1 or (v == 101 and metric != "mpki")
                out[metric].append((row[0], int(row[1]), None if invalid else v))
    return out


@pytest.fixture(scope="module")
def usage(shared: Path) -> dict[str, list[tuple[str, int, float | None]]]:
    return raw_usage(shared)


@pytest.fixture
def result(db: LakeDB) -> utilization.UtilizationResult:
    r = utilization.compute(db, "alibaba_2018_machine_usage")
    assert r is not None
    return r


def by_machine(rows: list[tuple[str, int, float | None]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for m, _, v in rows:
        if v is not None:
            out[m].append(v)
    return out


@pytest.mark.parametrize("metric", ["cpu_util_percent", "mem_util_percent", "disk_io_percent"])
def test_distribution_imbalance_and_hot_spots(
    result: utilization.UtilizationResult, usage: dict, metric: str
) -> None:
    rows = usage[metric]
    valid = [v for _, _, v in rows if v is not None]
    m = result.metric(metric)
    assert (m.samples, m.invalid, m.entities) == (
        len(rows),
        len(rows) - len(valid),
        len({r[0] for r in rows}),
    )
    assert m.p50 == pytest.approx(quantile(valid, 0.5))
    assert m.p99 == pytest.approx(quantile(valid, 0.99))
    assert m.mean == pytest.approx(sum(valid) / len(valid), rel=1e-12)
    means = {k: sum(v) / len(v) for k, v in by_machine(rows).items()}
    avg = sum(means.values()) / len(means)
    assert m.imbalance == pytest.approx(max(means.values()) / avg, rel=1e-8)
    assert m.entity_mean_min == pytest.approx(min(means.values()), rel=1e-8)
    # hot spots: samples at or above 80%, and machines with at least 10% of theirs there
    hot = {k: sum(x >= 80 for x in v) / len(v) for k, v in by_machine(rows).items()}
    assert m.hot_share == pytest.approx(sum(x >= 80 for x in valid) / len(valid))
    assert m.hot_entities == sum(s >= 0.10 for s in hot.values())
    assert m.hottest_entity_share == pytest.approx(max(hot.values()))


def test_the_sample_numbers(result: utilization.UtilizationResult) -> None:
    """What the report says about this sample, pinned (derived above from the raw file)."""
    cpu, mem, disk = (
        result.metric(k) for k in ("cpu_util_percent", "mem_util_percent", "disk_io_percent")
    )
    assert (cpu.samples, cpu.entities, cpu.p50, cpu.p99) == (100002, 16, 35.0, 80.0)
    assert mem.hot_entities == 15 and mem.hot_share == pytest.approx(0.8962, abs=1e-4)
    assert disk.invalid == 16  # 6 x -1 and 10 x 101


def test_missing_hours_and_partial_machines(
    result: utilization.UtilizationResult, usage: dict
) -> None:
    hours: dict[str, set[int]] = defaultdict(set)
    for m, t, _ in usage["cpu_util_percent"]:
        if t:
            hours[m].add(t // 3600)
    own = {m: max(h) - min(h) + 1 for m, h in hours.items()}
    missing = sum(own[m] - len(h) for m, h in hours.items()) / sum(own.values())
    span = max(max(h) for h in hours.values()) - min(min(h) for h in hours.values()) + 1
    partial = sorted(m for m in hours if own[m] < 0.9 * span)
    cpu = result.metric("cpu_util_percent")
    assert cpu.missing_hour_share == pytest.approx(missing)
    assert (cpu.span_hours, cpu.partial_entities) == (span, len(partial))
    assert list(cpu.partial_examples) == partial == ["m_1932", "m_1947"]


def test_diurnal_profile(result: utilization.UtilizationResult, usage: dict) -> None:
    # hourly mean per machine, then the mean over machines per hour bin, then per hour of day
    cells: dict[tuple[int, str], list[float]] = defaultdict(list)
    for m, t, v in usage["cpu_util_percent"]:
        if v is not None and t:
            cells[(t // 3600, m)].append(v)
    bins: dict[int, list[float]] = defaultdict(list)
    for (b, _), vs in cells.items():
        bins[b].append(sum(vs) / len(vs))
    hourly: dict[int, list[float]] = defaultdict(list)
    for b, ms in bins.items():
        hourly[b % 24].append(sum(ms) / len(ms))
    profile = [sum(hourly[h]) / len(hourly[h]) for h in range(24)]
    cpu = result.metric("cpu_util_percent")
    assert cpu.diurnal == pytest.approx(profile, rel=1e-8)
    assert cpu.peak_hour == profile.index(max(profile))
    assert cpu.trough_hour == profile.index(min(profile))
    assert cpu.peak_to_trough == pytest.approx(max(profile) / min(profile), rel=1e-8)
    # mpki is recorded on the last ~40 hours only: too short for a daily profile
    assert result.metric("mpki").diurnal is None


def test_a_metric_recorded_at_some_instants(
    result: utilization.UtilizationResult, usage: dict
) -> None:
    instants = len({(m, t) for m, t, _ in usage["cpu_util_percent"]})
    assert result.metric("mpki").recorded_share == pytest.approx(len(usage["mpki"]) / instants)
    assert result.metric("mpki").hot_share is None  # not a percent


def test_genai_latency_metrics(db: LakeDB, shared: Path) -> None:
    values: dict[str, list[float]] = {}
    containers: dict[str, dict[str, list[float]]] = {}
    names = {"model_predict_data_anon": "inference_latency"}
    for archive in sorted((shared / GENAI).glob("*.tar.gz")):
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                stem = Path(member.name).name.removesuffix(".csv")
                metric = names.get(stem, stem.removesuffix("_anon"))
                f = tar.extractfile(member)
                assert f is not None
                reader = csv.DictReader(io.TextIOWrapper(f, encoding="utf-8"))
                for row in reader:
                    v = float(row["value"]) / 1000.0
                    values.setdefault(metric, []).append(v)
                    per = containers.setdefault(metric, defaultdict(list))
                    per[row["container_ip"]].append(v)
    r = utilization.compute(db, "alibaba_genai_2026_metrics")
    assert r is not None and {m.metric for m in r.metrics} == set(values)
    for m in r.metrics:
        assert m.samples == len(values[m.metric])
        assert m.entities == len(containers[m.metric])
        assert m.p50 == pytest.approx(quantile(values[m.metric], 0.5), rel=1e-9)
        assert m.p99 == pytest.approx(quantile(values[m.metric], 0.99), rel=1e-9)
        means = [sum(v) / len(v) for v in containers[m.metric].values()]
        assert m.imbalance == pytest.approx(max(means) / (sum(means) / len(means)), rel=1e-8)
        assert m.hot_share is None and m.diurnal is None  # seconds, and under a day


def test_arrival_series_are_not_level_metrics(db: LakeDB) -> None:
    assert utilization.compute(db, "azure_functions_2019") is None  # invocations: burstiness
    assert utilization.compute(db, "servegen_reason_deepseek_r1") is None  # rates: clients
    assert utilization.compute(db, "azure_llm_2023_conv") is None  # no series at all


def test_section_says_what_a_reader_needs(result: utilization.UtilizationResult) -> None:
    s = utilization_report.section(result)
    assert s.key == "utilization"
    text = " ".join(s.findings)
    assert "cpu_util_percent: median 35.0%, p99 80.0% over 100,002 samples of 16 entities" in text
    assert "m_1932 and m_1947" in text and "16 disk_io_percent samples" in text
    assert (
        s.numbers["metrics"]["cpu_util_percent"]["peak_hour"]
        == result.metric("cpu_util_percent").peak_hour
    )
    titles = [f.layout.title.text for f in s.figures]
    assert any("Diurnal" in t for t in titles) and len(s.figures) == 3
    over_time = s.figures[0]
    assert over_time.layout.xaxis.title.text == "days since the trace's start"
    assert max(over_time.data[0].x) < 8  # days since the start, never 1970 dates
