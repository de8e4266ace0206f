"""The rate curve of a trace: its arrival rate over time relative to its mean, and how it is
extended past the source's span.

The curve is piecewise constant over bins of `bin_s`. Raw bin counts carry Poisson noise on
top of the true rate: a model that replays them adds its own noise again, and a Poisson source
would come out with an IDC near 2 instead of 1 at the bin width. So the curve is the raw rate
raised to a power g in [0, 1] (then scaled back to mean 1), with g chosen so that the curve's
expected counts vary by v - m, the variance of the true rates when the counts have mean m and
variance v over the bins (moments, as in empirical Bayes). A Poisson source (v = m) gets a
flat curve; an idle bin (no arrival) stays idle at any power, so long lulls are kept, which a
linear shrinkage towards the mean would fill.

Past the source's span the curve is extended:
- a span of two days or more repeats its last whole days (time of day is kept at the seams);
- a shorter span is mirrored: played forward, then backward, then forward again, so the rate
  is continuous at every seam and no level jump appears where the source ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis import burstiness as bs

FloatArray = NDArray[np.float64]

DAY_S = 86_400.0
# A bin must hold this many arrivals on average for its rate to mean something.
MIN_PER_BIN = 50.0
MAX_BINS = 100_000


@dataclass(frozen=True)
class RateCurve:
    """Rate over time relative to the mean rate (time-weighted mean 1 over the source span)."""

    bin_s: float
    relative: FloatArray  # one value per bin of the source span (the last may be partial)
    span_s: float  # the source span the curve covers (s)
    power: float  # the raw rate's exponent (1: raw rates, 0: flat but for idle bins)

    @property
    def period_s(self) -> float | None:
        """The whole days repeated past the span (None: the curve is mirrored)."""
        days = math.floor(self.span_s / DAY_S)
        return days * DAY_S if days >= 2 else None

    @property
    def extension(self) -> str:
        period = self.period_s
        if period is None:
            return "mirrored (forward, backward, ...) past the source span"
        return f"last {period / DAY_S:g} whole days repeated past the source span"

    def source_time(self, t: FloatArray) -> FloatArray:
        """The time of the source span whose rate applies at generated time `t`."""
        span = self.span_s
        period = self.period_s
        inside = t < span
        if period is not None:
            mapped = span - period + np.mod(t - span, period)
        else:
            m = np.mod(t, 2 * span)
            mapped = np.where(m < span, m, 2 * span - m)
        return np.where(inside, t, np.clip(mapped, 0.0, np.nextafter(span, 0.0)))

    def over(self, duration_s: float) -> tuple[FloatArray, FloatArray]:
        """Bin edges (from 0 to `duration_s`) and the relative rate in each bin."""
        edges = np.arange(0.0, duration_s, self.bin_s, dtype=np.float64)
        # the source span's end is an edge too, so the partial last bin stays where it is
        if 0 < self.span_s < duration_s:
            edges = np.union1d(edges, self.span_s)
        edges = np.append(edges, duration_s)
        starts = edges[:-1]
        # each generated bin takes the rate at the source time of its middle
        mids = self.source_time((starts + edges[1:]) / 2)
        idx = np.minimum((mids / self.bin_s).astype(np.int64), self.relative.size - 1)
        return edges, self.relative[idx]

    def describe(self) -> dict[str, object]:
        return {
            "bin_s": self.bin_s,
            "bins": int(self.relative.size),
            "peak_to_mean": float(self.relative.max()),
            "power": self.power,
            "extension": self.extension,
        }


def curve_bin(
    events: int, span_s: float, resolution_s: float, per_bin: float = MIN_PER_BIN
) -> float | None:
    """The finest round bin (1 s, 10 s, 1 min, ...; whole clock ticks) with `per_bin` arrivals
    on average and at most MAX_BINS bins; None when fewer than two such bins fit the span."""
    rate = events / span_s if span_s > 0 else 0.0
    floor = max(resolution_s, bs.MIN_RESOLUTION_S)
    for b in bs.RATE_BINS_S:
        if b < floor * (1 - 1e-9) or rate * b < per_bin or span_s / b > MAX_BINS:
            continue
        return b if span_s / b >= 2 else None
    return None


def _normalized(raw: FloatArray, lengths: FloatArray, span_s: float, g: float) -> FloatArray:
    pos = raw > 0
    rel = np.zeros_like(raw)
    rel[pos] = raw[pos] ** g if g > 0 else 1.0  # only the bins with arrivals: no 0 ** g
    total = float(rel @ lengths)
    return rel * (span_s / total) if total > 0 else np.ones_like(raw)


def fit_rate_curve(
    ts_s: FloatArray, span_s: float, bin_s: float, power: float | None = None
) -> RateCurve:
    """The rate curve of arrivals at `ts_s` (s from the span's start) in bins of `bin_s`.

    `power` None: chosen to discount counting noise (see the module docstring); 1: the raw
    rates, for a model that adds no counting noise of its own (fixed counts per bin)."""
    t = np.asarray(ts_s, dtype=np.float64)
    nbins = max(1, math.ceil(span_s / bin_s - 1e-9))
    idx = np.clip((t / bin_s).astype(np.int64), 0, nbins - 1)
    counts = np.bincount(idx, minlength=nbins).astype(np.float64)
    lengths = np.full(nbins, float(bin_s))  # float: RATE_BINS_S holds ints
    lengths[-1] = span_s - bin_s * (nbins - 1)
    mean_rate = t.size / span_s
    raw = counts / lengths / mean_rate
    whole = math.floor(span_s / bin_s + 1e-9)
    if whole < 2:
        return RateCurve(float(bin_s), np.ones(nbins), float(span_s), 0.0)
    if power is not None:
        return RateCurve(
            float(bin_s), _normalized(raw, lengths, span_s, power), float(span_s), power
        )
    complete = counts[:whole]
    target = float(complete.var(ddof=1) - complete.mean())

    def spread(g: float) -> float:
        expected = _normalized(raw, lengths, span_s, g)[:whole] * mean_rate * bin_s
        return float(expected.var(ddof=1))

    lo, hi = 0.0, 1.0
    if target <= spread(0.0):
        hi = 0.0
    else:
        for _ in range(40):  # the spread grows with the power: bisect
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if spread(mid) < target else (lo, mid)
    return RateCurve(float(bin_s), _normalized(raw, lengths, span_s, hi), float(span_s), hi)
