"""Cold starts: keep-alive simulation by hand, the adaptive policy, SQL vs numpy, real samples."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import coldstarts as cs
from analysis.db import LakeDB, dumps
from ingest.pipeline import ingest_paths
from tests.analysis.conftest import section_of
from tests.conftest import FIXTURES

MIN = 60.0


# ---------------------------------------------------------------- pure simulation, by hand


def test_fixed_keepalive_hand_case() -> None:
    # arrivals at minutes 0, 3, 20 with a 10-minute keep-alive: 2 cold starts of 3 invocations
    idle = cs.idle_times([0.0, 3 * MIN, 20 * MIN])
    assert math.isnan(idle[0]) and list(idle[1:]) == [3 * MIN, 17 * MIN]
    r = cs.fixed_keepalive(idle, 10 * MIN, tail_s=4 * MIN)
    assert (r.invocations, r.events, r.cold_starts) == (3.0, 3, 2)
    assert r.cold_start_rate == pytest.approx(2 / 3)
    # warm for 3 min, then the full 10 min before unloading, then the 4-minute tail
    assert r.wasted_s == pytest.approx((3 + 10 + 4) * MIN)
    assert cs.fixed_keepalive(idle, 20 * MIN).cold_starts == 1
    assert cs.fixed_keepalive(idle, 1 * MIN).cold_starts == 3


def test_idle_time_runs_from_the_latest_end() -> None:
    # a 12 s invocation at 0 is still running when the second arrives at 10 (idle -2, warm);
    # the third comes 3 s after the first one ended
    idle = cs.idle_times([0.0, 10.0, 15.0], [12.0, 1.0, 1.0])
    assert list(idle[1:]) == [-2.0, 3.0]
    r = cs.fixed_keepalive(idle, 1.0)
    assert r.cold_starts == 2  # first, and the one after 3 s > 1 s
    assert r.wasted_s == pytest.approx(0.0 + 1.0)


def test_counts_weigh_invocations_not_cold_starts() -> None:
    # per-minute counts: 5 invocations in minute 0, 2 in minute 30
    r = cs.fixed_keepalive([np.nan, 30 * MIN], 10 * MIN, counts=[5, 2])
    assert (r.invocations, r.cold_starts) == (7.0, 2)
    assert cs.fixed_keepalive([], 10 * MIN).invocations == 0.0


def test_policy_windows_after_one_idle_time() -> None:
    policy = cs.HistogramPolicy()
    prewarm, unload, from_hist = cs.policy_windows([30 * MIN], policy)
    # nothing seen yet: the fixed fallback of 4 hours, no pre-warming
    assert (prewarm[0], unload[0], from_hist[0]) == (0.0, 4 * 3600.0, False)
    # one idle time of 30 min: bin 30 holds everything (CV of bin counts ~15 > 2)
    assert prewarm[1] == pytest.approx(30 * MIN * 0.9)
    assert unload[1] == pytest.approx(31 * MIN * 1.1)
    assert from_hist[1]


def test_adaptive_on_a_periodic_function() -> None:
    """Invoked every 30 min for 10 h: the histogram learns to pre-warm just in time."""
    arrivals = np.arange(21) * 30 * MIN
    idle = cs.idle_times(arrivals)
    ad = cs.adaptive_keepalive(idle)
    # first arrival cold; the second is warm under the 4-hour fallback (30 min wasted); after
    # that the instance is unloaded and reloaded at 27 min, 3 min before each arrival
    assert ad.cold_starts == 1
    assert ad.wasted_s == pytest.approx(30 * MIN + 19 * 3 * MIN)
    assert ad.histogram_share == pytest.approx(20 / 21)
    fixed10 = cs.fixed_keepalive(idle, 10 * MIN)
    fixed60 = cs.fixed_keepalive(idle, 60 * MIN)
    assert fixed10.cold_starts == 21 and fixed10.wasted_s == pytest.approx(20 * 10 * MIN)
    assert fixed60.cold_starts == 1 and fixed60.wasted_s == pytest.approx(20 * 30 * MIN)
    assert ad.wasted_s < 0.15 * fixed60.wasted_s


def test_adaptive_falls_back_when_idle_times_are_out_of_bounds() -> None:
    idle = cs.idle_times(np.arange(10) * 5 * 3600.0)  # every 5 h, beyond the 4-hour range
    ad = cs.adaptive_keepalive(idle)
    assert ad.cold_starts == 10
    assert ad.wasted_s == pytest.approx(9 * 4 * 3600.0)
    assert ad.histogram_share == 0.0


def test_adaptive_distrusts_a_flat_histogram() -> None:
    rng = np.random.default_rng(7)
    gaps = rng.uniform(0, 4 * 3600.0, 1000)  # spread over all 240 bins: CV ~0.5 < 2
    ad = cs.adaptive_keepalive(np.concatenate([[np.nan], gaps]))
    # only the first few dozen decisions (a sparse histogram looks peaked) use the histogram
    assert ad.histogram_share is not None and ad.histogram_share < 0.1
    # the 4-hour fallback keeps it warm, but for some early histogram-led misses
    assert 1 < ad.cold_starts < 0.02 * 1001


def test_policy_windows_do_not_depend_on_chunking() -> None:
    rng = np.random.default_rng(3)
    gaps = rng.exponential(900.0, 500)
    policy = cs.HistogramPolicy()
    a = cs.policy_windows(gaps, policy, chunk=7)
    b = cs.policy_windows(gaps, policy)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.floats(-5.0, 20_000.0, allow_nan=False), min_size=0, max_size=40),
    window_min=st.sampled_from([1.0, 10.0, 60.0]),
    tail=st.floats(0.0, 10_000.0),
)
def test_adaptive_without_histogram_is_fixed(
    gaps: list[float], window_min: float, tail: float
) -> None:
    """A policy that never trusts its histogram is the fixed keep-alive of its fallback."""
    idle = np.array([np.nan, *gaps])
    never = cs.HistogramPolicy(cv_threshold=math.inf, fallback_s=window_min * MIN)
    ad = cs.adaptive_keepalive(idle, never, tail_s=tail)
    fx = cs.fixed_keepalive(idle, window_min * MIN, tail_s=tail)
    assert ad.cold_starts == fx.cold_starts
    assert ad.wasted_s == pytest.approx(fx.wasted_s)


@settings(max_examples=40, deadline=None)
@given(
    gaps=st.lists(st.floats(0.0, 6 * 3600.0, allow_nan=False), min_size=1, max_size=60),
    window_min=st.sampled_from([1.0, 10.0, 120.0]),
)
def test_longer_windows_never_add_cold_starts(gaps: list[float], window_min: float) -> None:
    idle = np.array([np.nan, *gaps])
    short = cs.fixed_keepalive(idle, window_min * MIN)
    long = cs.fixed_keepalive(idle, 2 * window_min * MIN)
    assert long.cold_starts <= short.cold_starts
    assert long.wasted_s >= short.wasted_s


# ---------------------------------------------------------------- SQL on tiny lakes


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> LakeDB:
    src = tmp_path_factory.mktemp("coldstarts_src")
    # Azure 2021 (end time and duration): function a1/f1 starts at 0, 180, 1200 s; a1/f2 at 100
    # (50 s), 120 (10 s, overlapping) and 400 s; a2/f1 (another function: ids are per app) at 50
    (src / "AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv").write_text(
        "app,func,end_timestamp,duration\n"
        "a1,f1,0.0,0.0\n"
        "a1,f1,180.0,0.0\n"
        "a1,f1,1200.0,0.0\n"
        "a1,f2,150.0,50.0\n"
        "a1,f2,130.0,10.0\n"
        "a1,f2,400.0,0.0\n"
        "a2,f1,51.0,1.0\n"
    )
    # Azure 2019 (per-minute counts, minute 1 starts at 0 s): F1 at minutes 1, 4, 21 (2, 1 and
    # 3 invocations), F2 at minute 10; app A has 1024 MB, split over its two functions
    minutes = ",".join(str(m) for m in range(1, 31))
    f1 = ["0"] * 30
    f1[0], f1[3], f1[20] = "2", "1", "3"
    f2 = ["0"] * 30
    f2[9] = "1"
    (src / "invocations_per_function_md.anon.d01.csv").write_text(
        f"HashOwner,HashApp,HashFunction,Trigger,{minutes}\n"
        f"O,A,F1,http,{','.join(f1)}\n"
        f"O,A,F2,timer,{','.join(f2)}\n"
    )
    (src / "app_memory_percentiles.anon.d01.csv").write_text(
        "HashOwner,HashApp,SampleCount,AverageAllocatedMb\nO,A,10,1024\n"
    )
    lake = src / "lake"
    report = ingest_paths(sorted(src.glob("*.csv")), lake)
    assert not report.failures, report.failures
    return LakeDB(lake)


def test_sql_fixed_windows_on_requests_by_hand(tiny: LakeDB) -> None:
    fixed = cs.keepalive_fixed(tiny, "azure_functions_2021", (1, 10))
    ten = fixed.filter(fixed["window_min"] == 10.0).row(0, named=True)
    # a1/f1: idle 180, 1020 -> cold 2, wasted 180 + 600; a1/f2: idle -30 (busy), 250 -> cold
    # 1, wasted 250 + tail min(1200 - 400, 600); a2/f1: cold 1, tail min(1149, 600)
    assert (ten["functions"], ten["invocations"], ten["cold_starts"]) == (3, 7.0, 4)
    assert ten["wasted_s"] == pytest.approx(780 + 850 + 600)
    assert ten["fn_cold_rate_p50"] == pytest.approx(2 / 3)
    assert ten["fn_cold_rate_p75"] == pytest.approx((2 / 3 + 1) / 2)
    assert ten["fn_always_cold"] == pytest.approx(1 / 3)
    one = fixed.filter(fixed["window_min"] == 1.0).row(0, named=True)
    assert one["cold_starts"] == 6 and one["wasted_s"] == pytest.approx(300.0)


def test_sql_fixed_windows_on_series_by_hand(tiny: LakeDB) -> None:
    fixed = cs.keepalive_fixed(tiny, "azure_functions_2019", (10,))
    r = fixed.row(0, named=True)
    # F1: active minutes at 0, 180, 1200 s -> 2 cold starts; F2: 1. Trace ends at 1260 s.
    assert (r["functions"], r["invocations"], r["cold_starts"]) == (2, 7.0, 3)
    # F1 wastes 180 + 600 + tail 60; F2 (at 540 s) wastes its tail min(720, 600)
    assert r["wasted_s"] == pytest.approx(840 + 600)


def test_memory_split_over_the_apps_functions(tiny: LakeDB) -> None:
    mem = dict(cs.function_memory(tiny, "azure_functions_2019").iter_rows())
    assert mem == {"A/F1": 0.5, "A/F2": 0.5}
    assert cs.function_memory(tiny, "azure_functions_2021").is_empty()


@pytest.mark.parametrize("trace", ["azure_functions_2021", "azure_functions_2019"])
def test_replay_matches_sql(tiny: LakeDB, trace: str) -> None:
    """The numpy replay of the sample reproduces the SQL fixed windows exactly."""
    sql = cs.keepalive_fixed(tiny, trace).sort("window_min")
    comp = cs.compare_policies(tiny, trace).drop_nulls("window_min").sort("window_min")
    assert comp["cold_starts"].to_list() == sql["cold_starts"].to_list()
    assert comp["wasted_s"].to_list() == pytest.approx(sql["wasted_s"].to_list())
    assert comp["fn_cold_rate_p75"].to_list() == pytest.approx(sql["fn_cold_rate_p75"].to_list())


def test_compare_policies_weighs_memory(tiny: LakeDB) -> None:
    comp = cs.compare_policies(tiny, "azure_functions_2019", windows_min=(10,))
    ten = comp.filter(comp["window_min"] == 10.0).row(0, named=True)
    assert ten["wasted_gb_s"] == pytest.approx(0.5 * (840 + 600))
    assert ten["wasted_vs_fixed_10min"] == 1.0
    assert comp.filter(comp["policy"] == "adaptive").height == 1


def test_sample_is_bounded(tiny: LakeDB) -> None:
    sample = cs.replay_sample(tiny, "azure_functions_2021", max_events=3, max_functions=10)
    assert 0 < sample.height <= 3
    assert cs.replay_sample(tiny, "azure_functions_2021", max_functions=1)["fn"].n_unique() == 1


# ---------------------------------------------------------------- real samples


def test_huawei_recorded_cold_starts(db: LakeDB) -> None:
    sec = section_of("cold_starts", db, "huawei_2025_cold_starts")
    assert sec is not None and sec.key == "cold_starts"
    num = sec.numbers
    assert num["recorded"] is True and "modelled" not in num
    # totalCost_cold_start of the six fixture rows (tests/fixtures/huawei_2025)
    totals = [0.91109, 0.193592, 2.239314, 0.5, 1.25, 6.913106]
    assert num["count"] == 6
    assert num["total_s"]["mean"] == pytest.approx(sum(totals) / 6)
    assert num["total_s"]["p50"] == pytest.approx((0.91109 + 1.25) / 2)
    assert num["total_s"]["max"] == pytest.approx(6.913106)
    # the fixture's phases add up to the totals
    assert sum(num["phases_share_of_mean"].values()) == pytest.approx(1.0)
    assert num["phases_mean_s"]["unattributed"] == pytest.approx(0.0, abs=1e-9)
    assert num["phases_mean_s"]["scheduling"] == pytest.approx(
        (0.9095 + 0.150806 + 1.713152 + 0.497 + 1.0 + 2.562032) / 6
    )
    assert {k: v["n"] for k, v in num["by_region"].items()} == {"R1": 3, "R2": 3}
    assert set(num["by_runtime"]) == {"Node.js14", "Python3", "(unknown)"}
    assert set(num["by_trigger"]) == {"APIG-S", "workflow-S", "(unknown)"}
    assert "pod_utility_ratio" not in num
    assert any("pod utility" in n.lower() for n in sec.notes)
    assert (FIXTURES / "huawei_2025").is_dir()


def test_azure_2019_modelled(db: LakeDB) -> None:
    sec = section_of("cold_starts", db, "azure_functions_2019")
    assert sec is not None
    num = sec.numbers
    assert num["modelled"] is True and num["note"]
    assert "modelled" in sec.title.lower()
    assert all("modelled" in f.layout.title.text.lower() for f in sec.figures)
    assert all(f.startswith("Modelled") for f in sec.findings)
    assert num["source"] == "series" and num["functions"] == 100
    assert num["invocations"] == 339657.0
    ka = num["keepalive"]
    assert [k["window_min"] for k in ka] == [1, 5, 10, 20, 30, 60, 120]
    colds = [k["cold_starts"] for k in ka]
    wasted = [k["wasted_instance_s"] for k in ka]
    assert colds == sorted(colds, reverse=True) and wasted == sorted(wasted)
    pol = num["policies"]
    assert pol["share_of_invocations"] == 1.0 and pol["wasted_unit"] == "GB-s"
    ten = next(k for k in ka if k["window_min"] == 10)
    assert pol["fixed_10min"]["cold_start_rate"] == pytest.approx(ten["cold_start_rate"])
    assert pol["fixed_10min"]["wasted_vs_fixed_10min"] == 1.0
    ad = pol["adaptive"]
    # the paper's result on this sample: fewer cold starts than 10 min, less memory wasted
    assert ad["fn_cold_rate_p75"] < pol["fixed_10min"]["fn_cold_rate_p75"]
    assert ad["wasted_vs_fixed_10min"] < 1.0
    assert 0 < ad["histogram_share"] <= 1


def test_azure_2021_modelled_in_instance_seconds(db: LakeDB) -> None:
    sec = section_of("cold_starts", db, "azure_functions_2021")
    assert sec is not None
    num = sec.numbers
    assert num["source"] == "requests" and num["invocations"] == 998.0
    assert num["policies"]["wasted_unit"] == "instance-s"
    assert "wasted_gb_s" not in num["policies"]["adaptive"]
    assert any("instance-seconds" in n for n in sec.notes)


@pytest.mark.parametrize(
    "trace",
    ["mooncake_conversation", "google_2011_jobs", "acme_cluster_summary", "vidur_profiling"],
)
def test_no_section_for_other_traces(db: LakeDB, trace: str) -> None:
    assert section_of("cold_starts", db, trace) is None


def test_sections_are_reportable_and_deterministic(db: LakeDB) -> None:
    for trace in ("huawei_2025_cold_starts", "azure_functions_2019", "azure_functions_2021"):
        a, b = section_of("cold_starts", db, trace), section_of("cold_starts", db, trace)
        assert a is not None and b is not None
        assert dumps(a.numbers) == dumps(b.numbers) and a.findings == b.findings
        json.loads(dumps(a.numbers))
        assert 1 <= len(a.findings) <= 4 and 1 <= len(a.figures) <= 4
        for fig in a.figures:
            assert fig.layout.title.text and fig.layout.xaxis.title.text
            assert sum(len(t.x) for t in fig.data if t.x is not None) <= 5000
