"""The fidelity table: its statistics against independent derivations, its tolerances against
the README, and the numpy arrival measures against the report's SQL on the real samples."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from rich.console import Console
from scipy import stats

from analysis import burstiness as bs
from analysis.db import LakeDB
from generate.clusters import CLUSTER_GAP_SHARE, effective_arrivals
from generate.compare import trace_arrivals
from generate.fidelity import (
    IDC_SIGMAS,
    TOLERANCES,
    Statistic,
    arrival_fidelity,
    content_fidelity,
    fidelity_table,
    idc_tolerance,
    ks_distance,
    ks_tolerance,
    reuse_share,
)
from generate.measures import measure_arrivals

ROOT = Path(__file__).resolve().parents[2]
PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)


def rows_by_name(rows: list[Statistic]) -> dict[str, Statistic]:
    return {r.name: r for r in rows}


# ---------------------------------------------------------------- tolerances in the README


def test_every_tolerance_is_stated_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Generating workloads", 1)[1].split("\n## ", 1)[0]
    stated = {
        m.group(1): float(m.group(2))
        for m in re.finditer(r"^\| `(\w+)` \| ([0-9.]+) \|", section, re.M)
    }
    assert set(stated) == set(TOLERANCES)
    for key, value in TOLERANCES.items():
        assert math.isclose(stated[key], value, rel_tol=1e-3), key
    assert f"{IDC_SIGMAS:g} x 2 / sqrt(n - 1)" in section


def test_idc_tolerance_widens_with_few_windows():
    assert idc_tolerance(10) == pytest.approx(2 * 2 / 3)  # two standard errors of sqrt(4/9)
    assert idc_tolerance(1_000_000) == pytest.approx(math.log(1.5))
    assert idc_tolerance(1) == math.inf


def test_ks_tolerance_is_the_5_percent_critical_value_when_above_the_stated_one():
    c = stats.kstwobign.ppf(0.95)  # Kolmogorov's limiting law, independently of our constant
    assert ks_tolerance(0.05, 998, 998) == pytest.approx(c * math.sqrt(2 / 998), rel=1e-5)
    assert ks_tolerance(0.05, 100_000, 100_000) == 0.05
    assert ks_tolerance(0.05, 0, 10) == 0.05


def test_ks_tolerance_fails_a_perfect_model_about_one_time_in_20():
    rng = np.random.default_rng(7)
    trials = 600
    over = sum(
        ks_distance(rng.exponential(size=300), rng.exponential(size=300))
        > ks_tolerance(0.05, 300, 300)
        for _ in range(trials)
    )
    assert 0.02 * trials <= over <= 0.09 * trials


def _kish_by_loop(times: list[float]) -> float:
    mean_gap = (times[-1] - times[0]) / (len(times) - 1)
    sizes = [1]
    for before, t in itertools.pairwise(times):
        if t - before > CLUSTER_GAP_SHARE * mean_gap:
            sizes.append(1)
        else:
            sizes[-1] += 1
    return sum(sizes) ** 2 / sum(s * s for s in sizes)


def test_effective_arrivals_weigh_clusters_by_size():
    # three singles, then 3 arrivals a microsecond apart: sizes 1, 1, 1, 3 -> 36 / 12
    times = np.array([0.0, 10.0, 20.0, 30.0, 30.000001, 30.000002])
    assert effective_arrivals(times) == pytest.approx(3.0)
    rng = np.random.default_rng(3)
    t = np.sort(np.concatenate([rng.uniform(0, 1000, 500), np.full(200, 400.0)]))
    assert effective_arrivals(t) == pytest.approx(_kish_by_loop(t.tolist()))


def test_one_huge_cluster_widens_the_arrival_time_tolerance_and_says_why():
    rng = np.random.default_rng(5)
    singles = rng.uniform(0, 1000, 1800)
    src = np.sort(np.concatenate([singles, np.full(200, 400.0)]))
    gen = np.sort(np.concatenate([rng.uniform(0, 1000, 1800), np.full(200, 430.0)]))
    row = rows_by_name(arrival_fidelity(src, gen, 1000.0, 1000.0))[
        "rate curve (KS of arrival times)"
    ]
    n_src = _kish_by_loop(src.tolist())  # both sides sized by the source's clustering
    c = stats.kstwobign.ppf(0.95)
    assert row.tolerance == pytest.approx(c * math.sqrt(2 / n_src), rel=1e-5)
    assert row.tolerance > TOLERANCES["rate_curve_ks"]
    assert "5 % critical value" in row.how and "effective arrivals" in row.how


def test_a_workload_clumpier_than_its_source_earns_no_looser_tolerance():
    rng = np.random.default_rng(6)
    src = np.sort(rng.uniform(0, 1000, 3000))  # Poisson: about 2,500 effective arrivals
    gen = np.sort(np.repeat(rng.uniform(0, 750, 12), 250))  # 12 bursts in the first 75 %
    rows = rows_by_name(arrival_fidelity(src, gen, 1000.0, 1000.0))
    row = rows["rate curve (KS of arrival times)"]
    assert row.tolerance == TOLERANCES["rate_curve_ks"] and row.passed is False
    assert rows["inter-arrival KS"].tolerance == TOLERANCES["iat_ks"]


def test_a_short_workload_is_held_to_the_sources_count_over_its_own_length():
    rng = np.random.default_rng(8)
    src = np.sort(np.concatenate([rng.uniform(0, 100, 1000), rng.uniform(100, 1000, 100)]))
    first = src[src < 100]  # the busy first 100 s, exactly
    rows = rows_by_name(arrival_fidelity(src, first, 1000.0, 100.0, from_start=True))
    rate = rows["rate (/s)"]
    assert rate.source == pytest.approx(first.size / 100.0)  # not the mean 1.1 /s
    assert rate.distance == pytest.approx(0.0) and rate.passed
    assert "first 100 s" in rate.how


def test_hurst_is_shown_not_checked_when_the_spans_differ():
    rng = np.random.default_rng(9)
    src = np.sort(rng.uniform(0, 3600, 5000))
    longer = np.sort(rng.uniform(0, 7200, 10000))
    hurst = [r for r in arrival_fidelity(src, longer, 3600.0, 7200.0) if "Hurst" in r.name]
    assert hurst and all(r.tolerance is None and "spans differ" in r.how for r in hurst)
    same = [r for r in arrival_fidelity(src, src, 3600.0, 3600.0) if "Hurst" in r.name]
    assert all(r.tolerance == TOLERANCES["hurst"] for r in same)


def test_ks_tolerance_is_at_most_one():
    assert ks_tolerance(0.05, 1, 1) == 1.0


# ---------------------------------------------------------------- distances


@PROPERTY
@given(
    a=hs.lists(hs.integers(0, 50), min_size=2, max_size=60),
    b=hs.lists(hs.integers(0, 50), min_size=2, max_size=60),
)
def test_ks_distance_is_scipys_two_sample_statistic(a: list[int], b: list[int]):
    assert ks_distance(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)


def test_identical_arrivals_are_at_distance_zero_and_pass():
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 3600, 20_000))
    rows = arrival_fidelity(t, t.copy(), 3600.0, 3600.0)
    checked = [r for r in rows if r.checked]
    assert len(checked) >= 8
    assert all(r.distance == 0 and r.passed for r in checked)


def test_poisson_against_on_off_fails_the_dispersion_rows():
    rng = np.random.default_rng(2)
    span = 3600.0
    src = np.sort(rng.uniform(0, span, 36_000))
    on = src[(src // 60) % 2 == 0]
    gen = np.sort(np.concatenate([on, on + 1e-3]))  # as many arrivals, all in on minutes
    rows = rows_by_name(arrival_fidelity(src, gen, span, span))
    assert rows["rate (/s)"].passed
    assert not rows["IDC at 10 s"].passed and not rows["IDC at 1 min"].passed
    # on-off counts in 60 s windows: mean 10/s x 60 s, half the windows empty: IDC ~ 600
    assert rows["IDC at 1 min"].generated == pytest.approx(600, rel=0.15)
    assert rows["IDC at 1 min"].source == pytest.approx(1, abs=0.3)


def test_rate_scale_compares_with_k_times_the_rate_and_leaves_dispersion_unchecked():
    rng = np.random.default_rng(3)
    src = np.sort(rng.uniform(0, 1000, 10_000))
    gen = np.sort(rng.uniform(0, 1000, 20_000))
    rows = rows_by_name(arrival_fidelity(src, gen, 1000.0, 1000.0, rate_scale=2.0))
    assert rows["rate (/s)"].distance == pytest.approx(0, abs=1e-12)
    assert rows["inter-arrival KS"].passed  # gaps x 2 against the source's
    assert all(
        r.tolerance is None and "not checked at rate scale 2" in r.how
        for name, r in rows.items()
        if name.startswith(("IDC", "Hurst"))
    )


def test_gaps_below_two_ticks_of_the_clock_are_shown_not_checked():
    rng = np.random.default_rng(4)
    t = np.sort(rng.uniform(0, 3600, 12_000))  # mean gap 0.3 s
    rows = rows_by_name(arrival_fidelity(t, t, 3600.0, 3600.0, resolution_s=3.0))
    for name in ("inter-arrival CV", "inter-arrival KS"):
        assert rows[name].tolerance is None and rows[name].passed is None
        assert "mean gap under 2 ticks of the 3 s clock" in rows[name].how
    idc_rows = [n for n in rows if n.startswith("IDC at")]
    assert idc_rows[0] == "IDC at 3 s" and not any(n.endswith(" ms") for n in idc_rows)


def test_content_rows_against_plain_numpy():
    rng = np.random.default_rng(5)
    src_in = rng.integers(10, 5000, 3000).astype(float)
    src_out = np.where(rng.random(3000) < 0.1, np.nan, src_in // 3 + rng.integers(0, 50, 3000))
    gen_in = rng.integers(10, 5000, 2000).astype(float)
    gen_out = gen_in // 4
    src = {"input_tokens": src_in, "output_tokens": src_out, "hash_ids": np.array([1, 2, 1, 3])}
    gen = {"input_tokens": gen_in, "output_tokens": gen_out, "hash_ids": np.array([5, 5, 5, 5])}
    rows = rows_by_name(content_fidelity(src, gen))
    p50 = rows["input_tokens p50"]
    assert p50.source == np.median(src_in) and p50.generated == np.median(gen_in)
    assert p50.source is not None and p50.generated is not None
    assert p50.distance == pytest.approx(abs(math.log((p50.generated + 1) / (p50.source + 1))))
    known = src_out[~np.isnan(src_out)]
    assert rows["output_tokens p90"].source == pytest.approx(np.quantile(known, 0.9))
    assert rows["input_tokens KS"].distance == pytest.approx(
        stats.ks_2samp(src_in, gen_in).statistic
    )
    # Spearman: Pearson of ranks, both known, computed here by hand (ties averaged)
    ok = ~np.isnan(src_out)
    ra, rb = stats.rankdata(src_in[ok]), stats.rankdata(src_out[ok])
    rho = float(np.corrcoef(ra, rb)[0, 1])
    row = rows["Spearman input ~ output"]
    assert row.source == pytest.approx(rho) and row.generated == pytest.approx(1.0)
    # reuse: blocks seen before over all blocks, by a plain loop
    seen: set[int] = set()
    again = 0
    for h in [1, 2, 1, 3]:
        again += h in seen
        seen.add(h)
    assert rows["prefix reuse share"].source == pytest.approx(again / 4)
    assert rows["prefix reuse share"].generated == pytest.approx(3 / 4)
    assert reuse_share(np.array([], dtype=np.int64)) is None


def test_a_column_on_one_side_only_is_not_compared():
    rows = content_fidelity({"run_s": np.arange(10.0)}, {"input_tokens": np.arange(10.0)})
    assert rows == []


# ---------------------------------------------------------------- the table


def test_the_table_passes_only_when_every_checked_row_passes():
    ok = Statistic("a", 1.0, 1.0, 0.0, 0.1, True, "")
    shown = Statistic("b", 1.0, 9.0, 2.2, None, None, "not checked")
    bad = Statistic("c", 1.0, 3.0, 1.1, 0.1, False, "")
    assert fidelity_table("s", "g", [ok, shown]).passed
    table = fidelity_table("s", "g", [ok, shown], [bad])
    assert not table.passed and table.failed == [bad] and len(table.checked) == 2


def test_the_table_is_json_and_fits_an_80_column_terminal():
    rng = np.random.default_rng(6)
    t = np.sort(rng.uniform(0, 3600, 5000))
    rows = arrival_fidelity(t, t[::2], 3600.0, 3600.0)
    tokens = content_fidelity(
        {"input_tokens": rng.integers(1, 100_000, 500).astype(float)},
        {"input_tokens": rng.integers(1, 100_000, 500).astype(float)},
    )
    table = fidelity_table("azure_llm_2023_conv", "generated", rows, tokens, {"model": "x"})
    data = json.loads(json.dumps(table.to_json()))
    assert data["passed"] is False and "rate (/s)" in data["failed"]
    assert len(data["rows"]) == len(table.rows)
    assert data["tolerances"] == TOLERANCES
    console = Console(width=80, record=True, color_system=None)
    console.print(table.rich_table())
    text = console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    flat = " ".join(text.split())
    for r in table.rows:
        for word in r.name.split():
            assert word in flat
    assert "FAIL" in text and "ok" in text
    # 500 token values a side: the KS tolerance is widened, marked, and the mark explained
    widened = stats.kstwobign.ppf(0.95) * math.sqrt(2 / 500)
    assert f"{widened:.4g}*" in text and "* widened to the 5 % critical value" in flat


# ---------------------------------------------------------------- numpy measures = report SQL


@pytest.mark.parametrize(
    "trace",
    [
        "azure_llm_2023_conv",  # requests, microsecond clock
        "mooncake_conversation",  # requests, batched every 3 s
        "alibaba_2017_batch_task",  # jobs, 1 s clock
        "azure_functions_2019",  # per-minute invocation counts
    ],
)
def test_numpy_measures_equal_the_reports_sql(sample_lake: Path, trace: str):
    db = LakeDB(sample_lake)
    try:
        report = bs.analyze(db, trace)
        arrivals = trace_arrivals(db, trace)
    finally:
        db.close()
    assert report is not None
    m = measure_arrivals(arrivals.ts_s, arrivals.span_s, arrivals.resolution_s)
    assert m.events == report.summary.events
    assert m.resolution_s == report.resolution_s
    assert sorted(m.idc) == sorted(report.idc)
    for w, value in report.idc.items():
        assert m.idc[w] == pytest.approx(value, rel=1e-9), w
        assert m.idc_windows[w] == report.idc_windows[w]
    assert m.hurst_bin_s == report.hurst_bin_s
    assert m.hurst_aggregated_variance == pytest.approx(report.hurst_aggregated_variance, rel=1e-9)
    assert m.hurst_rescaled_range == pytest.approx(report.hurst_rescaled_range, rel=1e-9)
    if report.summary.batch_s is None and not arrivals.counts_only:
        # the report's CV is of gaps at the declared clock; here the same clock
        assert m.iat_cv == pytest.approx(report.iat_cv, rel=1e-6)


@pytest.mark.parametrize("clock", [0.0, 1e-3])
def test_many_arrivals_are_measured_by_the_one_pass_path_with_the_same_numbers(
    monkeypatch: pytest.MonkeyPatch, clock: float
):
    from generate import measures

    rng = np.random.default_rng(3)
    gaps = rng.exponential(1.0, 30_000) * rng.choice([0.05, 4.0], 30_000)
    ts = np.cumsum(gaps) * (3600 / gaps.sum() * 0.999)
    exact = measure_arrivals(ts, 3600.0, clock)
    monkeypatch.setattr(measures, "EXACT_EVENTS", 1_000)
    monkeypatch.setattr(measures, "KS_POINTS", 500)
    fast = measure_arrivals(ts, 3600.0, clock)
    assert fast.events == exact.events and fast.idc_windows == exact.idc_windows
    assert fast.idc == pytest.approx(exact.idc, rel=1e-12)
    assert fast.iat_cv == pytest.approx(exact.iat_cv, rel=1e-12)
    assert fast.hurst_aggregated_variance == pytest.approx(exact.hurst_aggregated_variance)
    assert fast.hurst_rescaled_range == pytest.approx(exact.hurst_rescaled_range)
    assert fast.gaps_measurable == exact.gaps_measurable
    # the gaps kept are 500 order statistics: a KS distance moves by under 1/500 per side
    other = rng.exponential(ts[-1] / ts.size, 40_000)
    full = stats.ks_2samp(exact.gaps, other).statistic
    assert fast.gaps.size == 500
    assert abs(ks_distance(fast.gaps, other) - full) <= 1 / 500


def test_a_ks_distance_on_order_statistics_is_within_1_over_m_of_the_exact_one(
    monkeypatch: pytest.MonkeyPatch,
):
    from generate import fidelity

    rng = np.random.default_rng(5)
    a, b = rng.gamma(0.5, 2.0, 50_000), rng.exponential(1.0, 20_000)
    full = stats.ks_2samp(a, b).statistic
    monkeypatch.setattr(fidelity, "KS_POINTS", 1_000)
    capped = ks_distance(a, b)
    assert capped is not None and abs(capped - full) <= 2 / 1_000
