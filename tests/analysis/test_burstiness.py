"""Arrivals and burstiness: hand-computed tiny inputs, simulated processes, real samples."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy import stats

from analysis import arrival_stats as st
from analysis import burstiness, burstiness_report
from analysis.db import LakeDB, dumps
from analysis.section import Section
from ingest.pipeline import ingest_paths
from tests.analysis.conftest import section_of

PROPERTY = settings(max_examples=6, deadline=None, derandomize=True)


def _lake(tmp_path: Path, name: str, text: str) -> LakeDB:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_text(text)
    report = ingest_paths([path], tmp_path / "lake")
    assert not report.failures, report.failures
    return LakeDB(tmp_path / "lake")


def _burstgpt(times: list[float], models: list[str] | None = None) -> str:
    """A BurstGPT release-3 CSV (1 s clock) with requests at the given seconds."""
    lines = [
        "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,"
        "Total tokens,Log Type"
    ]
    for i, t in enumerate(times):
        model = models[i] if models else "ChatGPT"
        lines.append(f"{t:.0f},,1,{model},100,10,110,API log")
    return "\n".join(lines) + "\n"


def _azure_llm(times: np.ndarray) -> str:
    """An Azure LLM 2023 CSV (microsecond clock) with requests at the given seconds."""
    base = datetime(2023, 11, 16, 18, 0, tzinfo=UTC)
    lines = ["TIMESTAMP,ContextTokens,GeneratedTokens"]
    for t in times:
        ts = base + timedelta(microseconds=round(float(t) * 1e6))
        lines.append(f"{ts:%Y-%m-%d %H:%M:%S}.{ts.microsecond:06d}0,100,10")
    return "\n".join(lines) + "\n"


def _poisson_times(rate: float, n: int, seed: int) -> np.ndarray:
    return np.cumsum(np.random.default_rng(seed).exponential(1.0 / rate, n))


def _counts(times: np.ndarray, bin_s: float) -> np.ndarray:
    bins = int(times[-1] // bin_s)
    return np.bincount((times // bin_s).astype(np.int64), minlength=bins + 1)[:bins].astype(float)


# ---------------------------------------------------------------- hand-computed


def test_moments_by_hand() -> None:
    assert st.cv([1, 2, 3]) == pytest.approx(0.5)  # sd 1 (ddof 1) over mean 2
    assert math.isnan(st.cv([5]))
    assert st.idc([0, 2, 0, 2]) == pytest.approx(4 / 3)  # var 4/3 over mean 1
    # Same four counts from their sum (4) and sum of squares (8) alone.
    assert st.idc_from_moments(4, 8, 4) == pytest.approx(4 / 3)
    assert st.aggregate([1, 2, 3, 4, 5], 2).tolist() == [3, 7]  # incomplete block dropped
    assert st.idc_curve([0, 2, 0, 2] * 5, 1.0, [1.0, 2.0, 3.0, 4.0]) == {
        1.0: pytest.approx(st.idc([0, 2, 0, 2] * 5)),
        2.0: 0.0,  # every pair sums to 2
    }  # 3 s and 4 s leave fewer than 10 windows


def test_rescaled_range_by_hand() -> None:
    # [1, 3, 2, 4]: deviations -1.5, .5, -.5, 1.5; cumulative -1.5, -1, -1.5, 0 -> R = 1.5;
    # S = sqrt(mean of squared deviations) = sqrt(1.25).
    assert st.rescaled_range([1, 3, 2, 4]) == pytest.approx(1.5 / math.sqrt(1.25))
    assert math.isnan(st.rescaled_range([2, 2, 2]))


def test_exponential_fit_by_hand() -> None:
    gaps = np.arange(1.0, 11.0)  # 1..10 s on a microsecond clock: nothing near a tick
    report = st.fit_interarrivals(gaps, 1e-6)
    assert report.method == "exact" and report.sample == 10
    expon = report.fits["exponential"]
    assert expon.params == {"scale": pytest.approx(5.5)}  # the MLE is the mean
    # log L = -n log(5.5) - sum(x) / 5.5 = -10 log 5.5 - 10; AIC = 2 * 1 - 2 log L
    assert expon.aic == pytest.approx(2 + 20 * math.log(5.5) + 20)
    # KS by hand: max over i of i/n - F(x_i) and F(x_i) - (i-1)/n
    f = 1 - np.exp(-gaps / 5.5)
    i = np.arange(1, 11)
    assert expon.ks == pytest.approx(max((i / 10 - f).max(), (f - (i - 1) / 10).max()))
    assert report.best in st.MODELS


def test_clock_intervals_and_grouped_ks_by_hand() -> None:
    value, lower, upper = st.clock_intervals([0.0, 1.0, 2.0000001, 60.0], 1.0)
    assert value.tolist() == [0.0, 1.0, 2.0, 60.0]  # snapped to the tick below 50 ticks
    assert lower.tolist() == [0.0, 0.5, 1.5, 60.0]  # a zero gap is "within half a tick"
    assert upper.tolist() == [0.5, 1.5, 2.5, 60.0]
    # Gaps 0, 0, 1 at a 1 s clock against uniform(0, 2), F(x) = x / 2: at tick 0 the ECDF is
    # 0 below and 2/3 at, against F(0) = 0 and F(.5) = .25; at tick 1, 2/3 and 1 against
    # F(.5) = .25 and F(1.5) = .75. The largest gap is 2/3 - 1/4 = 5/12.
    v, lo, hi = st.clock_intervals([0.0, 0.0, 1.0], 1.0)
    assert st.ks_grouped(v, lo, hi, stats.uniform(0, 2).cdf) == pytest.approx(5 / 12)
    # With every value exact it is scipy's KS statistic.
    x = np.random.default_rng(0).exponential(1.0, 50)
    expected = stats.kstest(x, stats.expon.cdf).statistic
    assert st.ks_grouped(x, x, x, stats.expon.cdf) == pytest.approx(expected)


def test_windows_bins_and_words() -> None:
    assert burstiness.idc_windows(1.0, 86400) == [1, 10, 60, 600, 3600]
    assert burstiness.idc_windows(1e-6, 3600) == [0.001, 0.01, 0.1, 1, 10, 60]  # span / 10
    assert burstiness.idc_windows(60.0, 28800) == [60, 600]  # counts per minute
    assert burstiness.idc_windows(0.5, 86400)[:2] == [0.5, 1.0]  # the clock, then whole ticks
    windows = burstiness.idc_windows(1e-6, 3600)
    assert burstiness.base_bin(1e-6, 3600, windows) == 0.01  # 1 ms would be 3.6M bins
    assert burstiness.rate_bin(1e-6, 3600) == 10  # 360 points
    assert burstiness.rate_bin(1.0, 14 * 86400) == 3600
    assert [burstiness_report.human_s(s) for s in (0.001, 1, 60, 3600, 5400, 86400)] == [
        "1 ms",
        "1 s",
        "1 min",
        "1 h",
        "1.5 h",
        "1 d",
    ]


def test_idc_in_words() -> None:
    summary = burstiness.ArrivalSummary(events=1e6, first_s=0.0, span_s=1e6, resolution_s=1.0)
    idc = {1.0: 1.02, 10.0: 5.0, 60.0: 6.0, 3600.0: 0.5}
    result = burstiness.Burstiness(
        "t",
        burstiness.REQUESTS,
        None,
        summary,
        idc=idc,
        idc_windows={w: round(1e6 / w) for w in idc},
    )
    # 1 h: 277 windows of ~3600 arrivals, a Poisson band of 3 * sqrt(2 / 276) = 0.26
    assert burstiness.idc_verdicts(result) == {
        1.0: "poisson",
        10.0: "above",
        60.0: "above",
        3600.0: "below",
    }
    assert burstiness_report._idc_finding(result) == (
        "arrivals look Poisson at 1 s, are burstier than Poisson from 10 s to 1 min and are "
        "more regular than Poisson at 1 h (IDC 6 at 1 min)"
    )


def test_periodicity_of_a_daily_sine() -> None:
    t = np.arange(14 * 144) * 600.0  # two weeks of 10-minute bins
    counts = 100 + 50 * np.sin(2 * np.pi * t / 86400)
    p = st.periodicity(counts, 600.0)
    assert p.top_periods_s[0] == pytest.approx(86400, rel=0.01)
    assert p.top_power_share[0] > 0.9
    daily, weekly = p.cycles["daily"], p.cycles["weekly"]
    assert daily is not None and weekly is not None
    assert daily.detected and daily.acf > 0.9
    assert not weekly.detected  # a daily cycle repeats weekly too, but is not a weekly one
    short = st.periodicity(counts[:144], 600.0)  # one day
    assert short.cycles == {"daily": None, "weekly": None}  # span too short


def test_tiny_lake_at_one_second_by_hand(tmp_path: Path) -> None:
    # Four requests at each of t = 0, 10, ..., 190 s, alternating two models.
    times = [10.0 * k for k in range(20) for _ in range(4)]
    models = ["A", "B"] * 40
    db = _lake(tmp_path, "burstgpt_tiny.csv", _burstgpt(times, models))
    section = section_of("burstiness", db, "burstgpt_tiny")
    assert section is not None and section.key == "burstiness"
    n = section.numbers
    assert n["source"] == "requests.ts" and n["events"] == 80 and n["resolution_s"] == 1.0
    assert n["span_s"] == 191.0  # last - first + one tick
    assert n["rate_per_s"] == pytest.approx(80 / 191, rel=1e-5)
    # 1 s: 20 of 191 windows hold 4, the rest 0: (20*16 - 80^2/191) / 190 / (80/191) = 3.6.
    # 10 s: 19 complete windows of exactly 4 (the arrivals at 190 s fall in the partial one).
    assert n["idc"] == {"1": pytest.approx(3.6), "10": 0.0}
    # 79 gaps: 60 zeros (same clock second) and 19 of 10 s.
    mean = 190 / 79
    sd = math.sqrt((19 * 100 - 79 * mean**2) / 78)
    assert n["iat_cv"] == pytest.approx(sd / mean, rel=1e-5)
    assert n["tied_gaps_share"] == pytest.approx(60 / 79, rel=1e-5)
    assert n["fit_method"] == "interval-censored"  # the zeros are intervals, not zeros
    assert n["fit_censored"] == 79
    assert set(n["by_service"]) == {"A", "B"}
    assert n["by_service"]["A"]["events"] == 40
    assert n["by_service"]["A"]["share"] == 0.5
    assert any("1 s resolution" in note for note in section.notes)
    assert not [k for k in n["idc"] if float(k) < 1]


def test_fine_windows_through_sql_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    times = [10.0 * k for k in range(20) for _ in range(4)]
    db = _lake(tmp_path, "burstgpt_tiny.csv", _burstgpt(times))
    dense = burstiness.analyze(db, "burstgpt_tiny")
    # With room for only 50 bins the base bin is 10 s and the 1 s IDC comes from SQL sums.
    monkeypatch.setattr(burstiness, "MAX_BINS", 50)
    sparse = burstiness.analyze(db, "burstgpt_tiny")
    assert dense is not None and sparse is not None
    assert (dense.base_bin_s, sparse.base_bin_s) == (1.0, 10.0)
    assert sparse.idc == pytest.approx(dense.idc) and sparse.idc[1.0] == pytest.approx(3.6)


def test_tiny_counts_only_lake_by_hand(tmp_path: Path) -> None:
    # Azure Functions 2019 layout, minutes 1..100: function a (app X) 2 per minute, function b
    # (app Y) 8 more every tenth minute. Zero cells are not stored but are zeros.
    header = "HashOwner,HashApp,HashFunction,Trigger," + ",".join(str(m) for m in range(1, 101))
    a = "o1,X,a,timer," + ",".join("2" for _ in range(100))
    b = "o2,Y,b,http," + ",".join("8" if m % 10 == 1 else "0" for m in range(1, 101))
    db = _lake(tmp_path, "invocations_per_function_md.anon.d01.csv", f"{header}\n{a}\n{b}\n")
    section = section_of("burstiness", db, "azure_functions_2019")
    assert section is not None
    n = section.numbers
    assert n["counts_only"] is True and n["events"] == 280 and n["resolution_s"] == 60.0
    # Per minute: ten 10s and ninety 2s, mean 2.8: var (1360 - 100 * 2.8^2) / 99 over 2.8.
    # Per 10 minutes every window holds 28: IDC 0.
    assert n["idc"] == {"60": pytest.approx(576 / 99 / 2.8, rel=1e-5), "600": 0.0}
    assert not {"iat_cv", "fits", "best_fit"} & set(n)
    assert n["by_service"]["X"]["idc"]["60"] == 0.0  # a constant 2 per minute
    assert any("counts per 1 min" in note for note in section.notes)


def test_not_applicable(db: LakeDB) -> None:
    assert section_of("burstiness", db, "vidur_arxiv_summarization") is None  # time origin 'none'
    assert section_of("burstiness", db, "acme_cluster_summary") is None  # summaries only
    assert section_of("burstiness", db, "burstgpt_schema_fixture") is None  # 10 requests
    assert section_of("burstiness", db, "alibaba_2018_machine_usage") is None  # no invocations


# ---------------------------------------------------------------- simulated processes


@PROPERTY
@given(rate=hs.floats(0.5, 50.0), seed=hs.integers(0, 2**32 - 1))
def test_poisson_arrivals_look_poisson(rate: float, seed: int) -> None:
    """Poisson: CV ~ 1, IDC ~ 1 at every window, Hurst ~ 0.5.

    Tolerances: the CV of n exponential gaps has standard error ~ sqrt(2 / n) = 0.01 at
    20k gaps, so 0.05 is 5 sigma. Each IDC is held to 5 sigma of its Poisson sampling band.
    Both Hurst estimators scatter by ~0.02 over seeds at 2^13+ bins (measured), so 0.1 is 5
    sigma and still far from the 0.7-0.9 of the bursty cases below.
    """
    times = _poisson_times(rate, 20_000, seed)
    assert st.cv(np.diff(times)) == pytest.approx(1.0, abs=0.05)
    base = 0.01
    counts = _counts(times, base)
    for w, value in st.idc_curve(counts, base, [0.01, 0.1, 1.0, 10.0, 60.0]).items():
        windows = counts.size // round(w / base)
        band = st.poisson_idc_band(windows, counts.sum() / windows) * 5 / 3
        assert abs(value - 1) < band, (w, value, band)
    hurst_counts = _counts(times, max(base, 20_000 / rate / 2**15))
    assert st.hurst_aggregated_variance(hurst_counts) == pytest.approx(0.5, abs=0.1)
    assert st.hurst_rescaled_range(hurst_counts) == pytest.approx(0.5, abs=0.1)
    fits = st.fit_interarrivals(np.diff(times), 1e-6)
    assert fits.fits["exponential"].ks < 0.02


@PROPERTY
@given(seed=hs.integers(0, 2**32 - 1))
def test_gamma_renewal_with_cv_3_is_bursty(seed: int) -> None:
    rng = np.random.default_rng(seed)
    gaps = rng.gamma(1 / 9, 9.0, 10_000)  # mean 1 s, CV 3
    times = np.cumsum(gaps)
    assert st.cv(gaps) > 1.5
    counts = _counts(times, 1.0)
    curve = st.idc_curve(counts, 1.0, [1.0, 10.0, 100.0])
    # A renewal process's IDC tends to CV^2 = 9 over long windows.
    assert curve[10.0] > 3 and curve[100.0] > 3
    fits = st.fit_interarrivals(gaps, 1e-6)
    assert fits.best != "exponential"
    assert fits.fits["gamma"].params["shape"] == pytest.approx(1 / 9, rel=0.15)


@PROPERTY
@given(seed=hs.integers(0, 2**32 - 1))
def test_on_off_arrivals_are_bursty_and_long_range_dependent(seed: int) -> None:
    """Poisson at 20/s while on, silent while off; on and off periods Pareto (alpha 1.4).

    Heavy-tailed on/off periods give long-range dependence with H = (3 - alpha) / 2 = 0.8.
    """
    rng = np.random.default_rng(seed)
    times, t, on = [], 0.0, True
    while t < 40_000:
        length = (rng.pareto(1.4) + 1) * 2.0
        if on:
            k = rng.poisson(20 * length)
            times.append(t + np.sort(rng.uniform(0, length, k)))
        t += length
        on = not on
    arrivals = np.concatenate(times)
    assert st.cv(np.diff(arrivals)) > 1.5
    counts = _counts(arrivals, 1.0)
    curve = st.idc_curve(counts, 1.0, [1.0, 10.0, 100.0])
    assert min(curve.values()) > 5
    assert st.hurst_aggregated_variance(counts) > 0.65
    assert st.hurst_rescaled_range(counts) > 0.65
    assert st.fit_interarrivals(np.diff(arrivals)[:50_000], 1e-6).best != "exponential"


def test_clock_rounding_is_respected() -> None:
    rng = np.random.default_rng(7)
    # Poisson with a 5 s mean read off a 1 s clock: 18% of gaps are 0 s, yet the interval-
    # censored fit still picks the exponential with the right mean.
    clock = np.floor(np.cumsum(rng.exponential(5.0, 10_001)))
    report = st.fit_interarrivals(np.diff(clock), 1.0)
    assert report.method == "interval-censored" and report.best == "exponential"
    assert report.fits["exponential"].params["scale"] == pytest.approx(5.0, rel=0.05)
    # A 0.5 s mean on the same clock: the gaps hold no shape, and no fit is made.
    fast = np.floor(np.cumsum(rng.exponential(0.5, 10_001)))
    refused = st.fit_interarrivals(np.diff(fast), 1.0)
    assert refused.method == "refused" and not refused.fits and "clock" in (refused.refused or "")


def test_one_second_lake_refuses_fits_below_two_ticks(tmp_path: Path) -> None:
    times = np.floor(_poisson_times(2.0, 2_000, 3))  # mean gap 0.5 s on a 1 s clock
    db = _lake(tmp_path, "burstgpt_fast.csv", _burstgpt(times.tolist()))
    section = section_of("burstiness", db, "burstgpt_fast")
    assert section is not None
    n = section.numbers
    assert n["fit_method"] == "refused" and "best_fit" not in n and "fits" not in n
    assert min(float(w) for w in n["idc"]) == 1.0
    assert n["idc"]["1"] == pytest.approx(1.0, abs=0.15)  # Poisson counts per second
    assert any("no distribution fitted" in f for f in section.findings)


def test_the_lake_verdicts_on_simulated_arrivals(tmp_path: Path) -> None:
    """Through ingest, SQL and the words: Poisson reads as Poisson, gamma CV 3 as bursty."""
    poisson = _poisson_times(5.0, 5_000, 11)
    db = _lake(tmp_path / "p", "AzureLLMInferenceTrace_conv.csv", _azure_llm(poisson))
    result = burstiness.analyze(db, "azure_llm_2023_conv")
    assert result is not None and result.fits is not None
    assert set(burstiness.idc_verdicts(result).values()) == {"poisson"}
    assert "look Poisson at every window from 1 ms to 1 min" in (
        burstiness_report._idc_finding(result) or ""
    )
    assert result.iat_cv == pytest.approx(1.0, abs=0.05)
    assert result.fits.fits["exponential"].ks < 0.03
    gamma = np.cumsum(np.random.default_rng(12).gamma(1 / 9, 0.2 * 9, 5_000))
    db = _lake(tmp_path / "g", "AzureLLMInferenceTrace_conv.csv", _azure_llm(gamma))
    result = burstiness.analyze(db, "azure_llm_2023_conv")
    assert result is not None and result.fits is not None
    verdicts = burstiness.idc_verdicts(result)
    assert verdicts[1.0] == verdicts[10.0] == verdicts[60.0] == "above"
    assert result.iat_cv > 1.5 and result.fits.best != "exponential"


def test_all_arrivals_in_one_tick(tmp_path: Path) -> None:
    db = _lake(tmp_path, "burstgpt_burst.csv", _burstgpt([5.0] * 30))
    section = section_of("burstiness", db, "burstgpt_burst")
    assert section is not None  # nothing to measure across time, but nothing breaks
    n = section.numbers
    assert n["events"] == 30 and n["idc"] == {} and n["fit_method"] == "refused"
    assert n["tied_gaps_share"] == 1.0
    assert section.findings


# ---------------------------------------------------------------- real samples


def _check_figures(section: Section) -> None:
    assert 1 <= len(section.figures) <= 4
    assert 1 <= len(section.findings) <= 4
    for fig in section.figures:
        assert fig.layout.template.layout.paper_bgcolor is not None  # plotly_white
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
        assert sum(len(tr.x) for tr in fig.data) <= 5000


def test_azure_llm_2023_conversation(db: LakeDB) -> None:
    section = section_of("burstiness", db, "azure_llm_2023_conv")
    assert section is not None
    n = section.numbers
    assert n["events"] == 19_366 and n["resolution_s"] == 1e-06
    assert list(n["idc"]) == ["0.001", "0.01", "0.1", "1", "10", "60"]  # 58 min / 10 < 10 min
    # Independent check from the raw timestamps.
    ts = db.sql(
        "SELECT EXTRACT(EPOCH FROM ts) AS t FROM requests WHERE trace = $t ORDER BY t",
        t="azure_llm_2023_conv",
    )["t"].to_numpy()
    gaps = np.diff(ts)
    assert n["iat_cv"] == pytest.approx(st.cv(gaps), rel=1e-4)
    minute = _counts(ts - ts[0], 60.0)
    assert n["idc"]["60"] == pytest.approx(st.idc(minute), rel=1e-4)
    assert n["idc"]["60"] > 10  # burstier than Poisson at one minute
    assert n["idc"]["0.001"] == pytest.approx(1.0, abs=0.1)  # but not at a millisecond
    assert n["iat_cv"] == pytest.approx(1.09, abs=0.01)
    assert n["fit_method"] == "exact" and n["best_fit"] in st.MODELS
    assert n["periodicity"]["daily"] == "span too short"
    assert set(n["hurst"]) == {"aggregated_variance", "rescaled_range"}
    _check_figures(section)
    assert section.findings[0].startswith(
        "Arrivals look Poisson from 1 ms to 100 ms and are burstier than Poisson from 1 s to 1 min"
    )
    again = section_of("burstiness", db, "azure_llm_2023_conv")
    assert again is not None and dumps(section.numbers) == dumps(again.numbers)


def test_mooncake_batches_every_three_seconds(db: LakeDB) -> None:
    """A 1 ms clock that logs in 3 s batches is read at 3 s (test_effective_clock.py checks
    the period against the raw file)."""
    result = burstiness.analyze(db, "mooncake_conversation")
    assert result is not None
    n = burstiness_report.burstiness_json(result)
    assert n["events"] == 12_031 and n["resolution_s"] == 0.001
    assert n["effective_resolution_s"] == 3.0 and min(float(w) for w in n["idc"]) == 3.0
    # ~10 requests share each timestamp; at whole batches the counts are near Poisson.
    assert n["tied_gaps_share"] == pytest.approx(1 - 1180 / 12_031, abs=1e-4)
    assert n["idc"]["3"] < 2 < n["idc"]["60"]
    assert n["fit_method"] == "refused" and "best_fit" not in n
    assert n["iat_cv"] > 1.5


def test_azure_functions_2019_counts(db: LakeDB) -> None:
    section = section_of("burstiness", db, "azure_functions_2019")
    assert section is not None
    n = section.numbers
    total = db.scalar(
        "SELECT SUM(value) FROM series WHERE trace = 'azure_functions_2019' "
        "AND metric = 'invocations'"
    )
    assert n["events"] == total and n["counts_only"] is True
    assert list(n["idc"]) == ["60", "600"] and n["idc"]["60"] > 1.5
    assert not {"iat_cv", "fits", "best_fit"} & set(n)
    assert 1 <= len(n["by_service"]) <= burstiness.TOP_GROUPS
    assert section.findings[0].startswith("Invocation counts are burstier than Poisson")
    _check_figures(section)


def test_jobs_submit_times(db: LakeDB) -> None:
    result = burstiness.analyze(db, "google_2011_jobs")
    assert result is not None and result.source is burstiness.JOBS
    assert result.summary.events == db.scalar(
        "SELECT COUNT(submit_ts) FROM jobs WHERE trace = 'google_2011_jobs'"
    )
    rate = result.rate
    assert rate["events"].sum() <= result.summary.events  # whole bins only
    assert rate.schema["start"] == pl.Datetime("us", "UTC")
