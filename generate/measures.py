"""Arrival statistics of a list of arrival times, in numpy: the report's burstiness measures
for workloads that are not (yet) in the lake.

`analysis.burstiness` computes these in DuckDB over a trace of the lake; a generated workload
is an array of times, so here the same statistics are taken from the array with the same
helpers (`analysis.arrival_stats` for IDC, CV and Hurst, `analysis.burstiness` for the
windows and bins). Tests check that both give the same numbers on the real samples.

Times are read off a clock of `resolution_s` (the effective clock of the source: a batched log's
period, see `analysis.arrival_stats.effective_tick`): each time is rounded to a whole number of
ticks, bins are whole ticks and, as in the report, a bin starts half a tick early so that an
arrival on a bin edge is counted in the bin it starts.

Above EXACT_EVENTS arrivals the same statistics are taken more cheaply (`_measure_large`): each
arrival's index at the finest window is computed once, in chunks, and run-length compressed;
coarser windows and the Hurst counts are integer divisions of those indices (floor(floor(x) / k)
= floor(x / k)), and the gaps are kept as a sorted order-statistic subsample of KS_POINTS values
(`ks_points`), enough for a KS distance within 1 / KS_POINTS of the full one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis import arrival_stats as st
from analysis import burstiness as bs

FloatArray = NDArray[np.float64]

# Above this many arrivals a side is measured by `_measure_large` (same statistics, integer
# window indices, gaps kept as KS_POINTS order statistics).
EXACT_EVENTS = 1_000_000
KS_POINTS = 1_000_000
CHUNK = 1 << 20  # arrivals per chunk when window indices are computed (8 MB temporaries)


def on_clock(ts_s: ArrayLike, resolution_s: float) -> FloatArray:
    """Times (s) as read off a clock of `resolution_s`: rounded to whole ticks (unchanged when
    the clock is 0)."""
    t = np.asarray(ts_s, dtype=np.float64).ravel()
    if resolution_s <= 0:
        return t
    return np.asarray(np.round(t / resolution_s) * resolution_s, dtype=np.float64)


def window_index(ts_s: FloatArray, resolution_s: float, window_s: float) -> NDArray[np.int64]:
    """The window of `window_s` each time (already on the clock) falls in, as the report's
    `_arrival_bins.sql` places it: FLOOR((t + half a tick) / window)."""
    return np.floor((ts_s + resolution_s / 2) / window_s).astype(np.int64)


def complete_windows(span_s: float, window_s: float) -> int:
    """Whole windows of `window_s` in the span (a partial last one would read as a lull)."""
    return math.floor(span_s / window_s + 1e-9)


def counts_at(ts_s: FloatArray, resolution_s: float, span_s: float, bin_s: float) -> FloatArray:
    """Arrivals per bin of `bin_s` over every complete bin of the span, zeros included."""
    bins = complete_windows(span_s, bin_s)
    idx = window_index(ts_s, resolution_s, bin_s)
    idx = idx[(idx >= 0) & (idx < bins)]
    return np.bincount(idx, minlength=bins).astype(np.float64)


def idc_at(
    ts_s: FloatArray, resolution_s: float, span_s: float, window_s: float
) -> tuple[float, int]:
    """IDC of counts in windows of `window_s` from the sum and sum of squares of the non-empty
    windows' counts (no array of every window): (idc, complete windows)."""
    bins = complete_windows(span_s, window_s)
    if bins < bs.MIN_WINDOWS:
        return math.nan, bins
    idx = window_index(ts_s, resolution_s, window_s)
    idx = idx[(idx >= 0) & (idx < bins)]
    # times are sorted, so each window's arrivals are one run of equal indices
    starts = np.flatnonzero(np.concatenate(([True], idx[1:] != idx[:-1]))) if idx.size else idx
    c = np.diff(np.append(starts, idx.size)).astype(np.float64)
    return st.idc_from_moments(float(c.sum()), float(c @ c), bins), bins


def reduced(counts: FloatArray, limit: int) -> tuple[FloatArray, int]:
    """Counts summed over a round number of bins (1, 2, 5, 10, 20, ...) to at most `limit`
    bins, as the report reduces them for the Hurst estimators."""
    need = counts.size / limit
    factor, step = 1, 0
    while factor < need:
        step += 1
        factor = (1, 2, 5)[step % 3] * 10 ** (step // 3)
    return (st.aggregate(counts, factor) if factor > 1 else counts), factor


@dataclass(frozen=True)
class ArrivalMeasures:
    """The burstiness statistics of one list of arrivals over a span, at one clock.

    A statistic that cannot be computed is NaN (Hurst of constant counts, CV of fewer than two
    gaps); `idc` holds the windows with at least `analysis.burstiness.MIN_WINDOWS` complete
    windows.
    """

    events: int
    span_s: float  # the time the arrivals cover (s), from the start of the workload
    resolution_s: float  # the clock every statistic respects (s)
    # inter-arrival times read off the clock (s); above EXACT_EVENTS arrivals, sorted and
    # reduced to their KS_POINTS order statistics (`ks_points`)
    gaps: FloatArray
    iat_cv: float  # sd / mean of the gaps (sample sd, as SQL's STDDEV_SAMP)
    idc: dict[float, float] = field(default_factory=dict)  # window (s) -> variance / mean
    idc_windows: dict[float, int] = field(default_factory=dict)  # window (s) -> windows
    hurst_aggregated_variance: float = math.nan
    hurst_rescaled_range: float = math.nan
    hurst_bin_s: float = math.nan  # width of the counts the Hurst estimators see (s)
    mean_gap_s: float = math.nan  # mean of every gap (NaN: the mean of `gaps`)

    @property
    def rate_per_s(self) -> float:
        return self.events / self.span_s if self.span_s > 0 else math.nan

    @property
    def gaps_measurable(self) -> bool:
        """Whether the clock holds the shape of the gaps: a mean gap of at least
        `analysis.arrival_stats.MIN_MEAN_TICKS` ticks, the report's condition for a fit."""
        if self.gaps.size < 2:
            return False
        mean = self.mean_gap_s if math.isfinite(self.mean_gap_s) else float(self.gaps.mean())
        return bool(mean >= st.MIN_MEAN_TICKS * self.resolution_s)


def measure_arrivals(
    ts_s: ArrayLike,
    span_s: float,
    resolution_s: float = 0.0,
    windows: list[float] | None = None,
    base_bin_s: float | None = None,
) -> ArrivalMeasures:
    """Count, gaps and CV, IDC at each window and both Hurst estimates of arrivals at `ts_s`
    (seconds from the start of the span, any order).

    `windows` and `base_bin_s` default to the report's choice for this clock and span
    (`analysis.burstiness.idc_windows`, `base_bin`); pass the same ones to compare two lists
    of arrivals of different spans on the same windows.
    """
    r = float(resolution_s)
    if windows is None:
        windows = bs.idc_windows(r, span_s)
    if base_bin_s is None:
        base_bin_s = bs.base_bin(r, span_s, windows)
    if np.size(ts_s) > EXACT_EVENTS:
        return _measure_large(ts_s, span_s, r, windows, base_bin_s)
    t = np.sort(on_clock(ts_s, r), kind="stable")  # timsort: usually sorted already
    gaps = np.diff(t)
    idc: dict[float, float] = {}
    idc_n: dict[float, int] = {}
    for w in windows:
        value, n = idc_at(t, r, span_s, w)
        if n >= bs.MIN_WINDOWS:
            idc[w] = value
            idc_n[w] = n
    counts = counts_at(t, r, span_s, base_bin_s)
    hurst_counts, factor = reduced(counts, bs.HURST_BINS)
    return ArrivalMeasures(
        events=int(t.size),
        span_s=float(span_s),
        resolution_s=r,
        gaps=gaps,
        iat_cv=st.cv(gaps),
        idc=idc,
        idc_windows=idc_n,
        hurst_aggregated_variance=st.hurst_aggregated_variance(hurst_counts),
        hurst_rescaled_range=st.hurst_rescaled_range(hurst_counts),
        hurst_bin_s=base_bin_s * factor,
    )


def is_sorted(x: FloatArray) -> bool:
    return bool(x.size < 2 or np.all(x[1:] >= x[:-1]))


def ks_points(x_sorted: FloatArray, points: int = KS_POINTS) -> FloatArray:
    """The order statistics of sorted `x_sorted` at quantiles 1/m, 2/m, ..., 1 (m = `points`),
    or all of it when it is no longer. Their empirical CDF is within 1/m of the full one at
    every point (with i values <= x, floor(i m / n) of the m order statistics are), so a KS
    distance taken on them is within 1/m of the full one on each side."""
    n = x_sorted.size
    if n <= points:
        return x_sorted
    pos = -((-np.arange(1, points + 1, dtype=np.int64) * n) // points) - 1  # ceil(j n / m) - 1
    return x_sorted[pos]


def _runs(
    idx: NDArray[np.int64], counts: NDArray[np.int64] | None
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Distinct values of sorted `idx` and the total of `counts` (1 each if None) over each."""
    if idx.size == 0:
        return idx, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], idx[1:] != idx[:-1])))
    n = np.diff(np.append(starts, idx.size)) if counts is None else np.add.reduceat(counts, starts)
    return idx[starts], n


def _multiple(w: float, base: float) -> int:
    k = round(w / base)
    return k if k >= 1 and math.isclose(k * base, w, rel_tol=1e-9) else 0


def _measure_large(
    ts_s: ArrayLike, span_s: float, r: float, windows: list[float], base_bin_s: float
) -> ArrivalMeasures:
    """`measure_arrivals` for many arrivals: the same statistics on the same windows, with at
    most two arrays of the arrivals' size alive at once (see the module docstring)."""
    t = np.asarray(ts_s, dtype=np.float64).ravel()
    if r > 0:  # on_clock, as one copy of our own
        t = np.divide(t, r)
        np.round(t, out=t)
        t *= r
        if not is_sorted(t):
            t.sort()
    elif not is_sorted(t):
        t = np.sort(t)
    n_events = int(t.size)
    gaps = np.diff(t)
    mean_gap = float(gaps.mean()) if gaps.size else math.nan
    iat_cv = st.cv(gaps)
    gaps.sort()
    kept_gaps = ks_points(gaps, KS_POINTS).copy()
    del gaps
    # indices at the finest window, in chunks, then run-length compressed
    w0 = min([*windows, base_bin_s])
    idx = np.empty(t.size, dtype=np.int64)
    for s in range(0, t.size, CHUNK):
        idx[s : s + CHUNK] = window_index(t[s : s + CHUNK], r, w0)
    ids0, n0 = _runs(idx, None)
    del idx

    def counts_in(w: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        k = _multiple(w, w0)
        if k:
            return _runs(ids0 // k, n0) if k > 1 else (ids0, n0)
        parts = [window_index(t[s : s + CHUNK], r, w) for s in range(0, t.size, CHUNK)]
        return _runs(np.concatenate(parts) if parts else np.zeros(0, np.int64), None)

    idc: dict[float, float] = {}
    idc_n: dict[float, int] = {}
    for w in windows:
        bins = complete_windows(span_s, w)
        if bins < bs.MIN_WINDOWS:
            continue
        ids, c = counts_in(w)
        c = c[(ids >= 0) & (ids < bins)].astype(np.float64)
        idc[w] = st.idc_from_moments(float(c.sum()), float(c @ c), bins)
        idc_n[w] = bins
    bins = complete_windows(span_s, base_bin_s)
    ids, c = counts_in(base_bin_s)
    ok = (ids >= 0) & (ids < bins)
    counts = np.bincount(ids[ok], weights=c[ok], minlength=bins).astype(np.float64)
    hurst_counts, factor = reduced(counts, bs.HURST_BINS)
    return ArrivalMeasures(
        events=n_events,
        span_s=float(span_s),
        resolution_s=r,
        gaps=kept_gaps,
        iat_cv=iat_cv,
        idc=idc,
        idc_windows=idc_n,
        hurst_aggregated_variance=st.hurst_aggregated_variance(hurst_counts),
        hurst_rescaled_range=st.hurst_rescaled_range(hurst_counts),
        hurst_bin_s=base_bin_s * factor,
        mean_gap_s=mean_gap,
    )
