"""The effective clock: timestamps logged in batches are known only to the batch period.

Simulated batched and unbatched arrivals through ingest and SQL, and the real Mooncake sample
checked against a plain reading of its raw JSONL.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from analysis import arrival_stats as st
from analysis import burstiness, burstiness_report
from analysis.db import LakeDB
from ingest.pipeline import ingest_paths
from tests.analysis.conftest import section_of

PROPERTY = settings(max_examples=5, deadline=None, derandomize=True)
MOONCAKE = Path("llm_serving/mooncake_fast25/conversation_trace.jsonl")


def _mooncake_lake(tmp_path: Path, times_ms: np.ndarray) -> LakeDB:
    """A Mooncake conversation JSONL (1 ms clock) with requests at the given milliseconds."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "conversation_trace.jsonl"
    lines = [
        json.dumps({"timestamp": int(t), "input_length": 100, "output_length": 10, "hash_ids": [0]})
        for t in times_ms
    ]
    path.write_text("\n".join(lines) + "\n")
    report = ingest_paths([path], tmp_path / "lake")
    assert not report.failures, report.failures
    return LakeDB(tmp_path / "lake")


def _batched_ms(rate: float, seconds: float, empty: float, seed: int) -> np.ndarray:
    """Poisson arrivals logged in batches every 3 s, each batch stamped with up to +-3 ms of
    jitter (as Mooncake's are); a share `empty` of the batches is left out (idle periods)."""
    rng = np.random.default_rng(seed)
    batches = int(seconds // 3)
    sizes = rng.poisson(rate * 3.0, batches)
    sizes[rng.random(batches) < empty] = 0
    sizes[0] = max(sizes[0], 1)
    stamps = np.arange(batches) * 3000 + rng.integers(-3, 4, batches)
    stamps[0] = 0
    return np.repeat(stamps, sizes)


def _windows_at_or_above(n: dict[str, Any], tick: float) -> None:
    """No window or bin in the section's JSON is finer than `tick` seconds."""
    assert n["idc"] and min(float(w) for w in n["idc"]) >= tick * (1 - 1e-9)
    assert n["hurst_bin_s"] >= tick * (1 - 1e-9)
    assert n["periodicity"]["bin_s"] >= tick * (1 - 1e-9)


@PROPERTY
@given(
    rate=hs.sampled_from([1.5, 4.0, 10.0]),
    empty=hs.sampled_from([0.0, 0.05]),
    seed=hs.integers(0, 2**16),
)
def test_batched_arrivals_are_read_at_the_batch_period(
    tmp_path_factory: pytest.TempPathFactory, rate: float, empty: float, seed: int
) -> None:
    times = _batched_ms(rate, 3600.0, empty, seed)
    db = _mooncake_lake(tmp_path_factory.mktemp("batched"), times)
    result = burstiness.analyze(db, "mooncake_conversation")
    assert result is not None
    assert result.summary.batch_s == pytest.approx(3.0)
    assert result.resolution_s == pytest.approx(3.0)
    n = burstiness_report.burstiness_json(result)
    assert n["resolution_s"] == 0.001 and n["effective_resolution_s"] == 3.0
    _windows_at_or_above(n, 3.0)
    assert float(result.acf["lag_s"][1]) >= 3.0  # autocorrelation lags in whole batches
    assert result.rate_bin_s is not None and result.rate_bin_s >= 3.0
    # Ties dominate, so the mean gap is under 2 periods: no shape can be fitted.
    assert result.fits is not None and result.fits.method == "refused" and not result.fits.fits
    assert "3 s clock" in (result.fits.refused or "")


def test_the_section_says_the_clock_is_batched(tmp_path: Path) -> None:
    times = _batched_ms(4.0, 1800.0, 0.0, 7)
    db = _mooncake_lake(tmp_path, times)
    section = section_of("burstiness", db, "mooncake_conversation")
    assert section is not None
    instants = len(set(times.tolist()))
    note = next(x for x in section.notes if "batched" in x)
    assert f"batched every 3 s ({instants:,} distinct instants for {times.size:,} requests" in (
        note
    )
    assert "nothing finer is concluded" in note
    assert not any(" 1 ms" in f and "zero at the" not in f for f in section.findings)
    titles = [f.layout.title.text for f in section.figures]
    assert not any("inter-arrival times" in t for t in titles)  # no fits, no fit chart
    assert any(t.endswith("(3 s bins)") for t in titles)


@PROPERTY
@given(seed=hs.integers(0, 2**16))
def test_poisson_at_one_millisecond_keeps_its_clock(
    tmp_path_factory: pytest.TempPathFactory, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    times = np.floor(np.cumsum(rng.exponential(0.25, 4_000)) * 1000)  # 4 / s on a 1 ms clock
    db = _mooncake_lake(tmp_path_factory.mktemp("poisson"), times)
    result = burstiness.analyze(db, "mooncake_conversation")
    assert result is not None
    assert result.summary.batch_s is None and result.resolution_s == 0.001
    n = burstiness_report.burstiness_json(result)
    assert n["effective_resolution_s"] == n["resolution_s"] == 0.001
    assert min(float(w) for w in n["idc"]) == 0.001
    assert n["fit_method"] != "refused" and n["best_fit"] in {"exponential", "gamma", "weibull"}


def test_effective_tick_rule_by_hand() -> None:
    r = 0.001
    # 9 zero gaps per 3 s gap, the 3 s gaps jittered by a few ms: a 3 s period.
    jittered = [2.997, 3.0, 3.003, 2.999, 3.001, 3.002, 2.998, 3.0, 3.0, 3.0]
    batched = ([0.0] * 9 + [g] for g in jittered * 5)
    gaps = [x for chunk in batched for x in chunk]
    assert st.effective_tick(gaps, r) == pytest.approx(3.0)
    # An empty batch now and then is two periods, still on the grid.
    assert st.effective_tick([*gaps, 6.001], r) == pytest.approx(3.0)
    # Ties dominate but the other gaps are spread: an ordinary busy clock, not batches.
    spread = [1.3, 2.7, 0.4, 5.1, 3.3, 0.9, 7.2, 1.1, 2.2, 4.4] * 5
    assert st.effective_tick([0.0] * 450 + spread, r) is None
    # Nonzero gaps on a grid of one declared tick (1 s clock): nothing to add to the clock.
    assert st.effective_tick([0.0] * 450 + [1.0, 2.0, 1.0, 3.0, 1.0] * 10, 1.0) is None
    # Ties are a minority: no batches, however regular the rest.
    assert st.effective_tick([0.0] * 10 + [3.0] * 90, r) is None
    # Too few nonzero gaps to call a grid (BATCH_MIN_GAPS).
    assert st.effective_tick([0.0] * 90 + [3.0] * (st.BATCH_MIN_GAPS - 1), r) is None
    assert st.effective_tick([0.0] * 90 + [3.0] * st.BATCH_MIN_GAPS, r) == 3.0


def test_mooncake_sample_against_its_raw_file(db: LakeDB, shared: Path) -> None:
    """The batch period and the note's counts, from the raw JSONL by a plain loop."""
    stamps = []
    with (shared / MOONCAKE).open() as f:
        for line in f:
            if line.strip():
                stamps.append(int(json.loads(line)["timestamp"]))
    stamps.sort()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    nonzero = [g for g in gaps if g > 0]
    distinct = len(set(stamps))
    assert (len(stamps), distinct) == (12_031, 1_180)
    assert sum(g == 0 for g in gaps) > 0.9 * len(gaps)
    assert min(nonzero) >= 2_990 and max(nonzero) <= 3_010  # every other gap is ~3 s
    period_s = round(sorted(nonzero)[len(nonzero) // 2]) / 1000  # median nonzero gap

    result = burstiness.analyze(db, "mooncake_conversation")
    assert result is not None
    assert result.summary.batch_s == pytest.approx(period_s) == pytest.approx(3.0)
    n = burstiness_report.burstiness_json(result)
    assert n["resolution_s"] == 0.001 and n["effective_resolution_s"] == period_s
    _windows_at_or_above(n, period_s)
    assert "best_fit" not in n and n["fit_method"] == "refused"
    section = section_of("burstiness", db, "mooncake_conversation")
    assert section is not None
    note = next(x for x in section.notes if "batched" in x)
    assert f"every 3 s ({distinct:,} distinct instants for {len(stamps):,} requests" in note
    assert not any("from 1 ms" in f or "at 1 ms" in f for f in section.findings)
    zero_share = sum(g == 0 for g in gaps) / len(gaps)
    assert n["tied_gaps_share"] == pytest.approx(zero_share, rel=1e-5)
