"""Arrival statistics on numpy arrays: dispersion, Hurst exponents, periodicity, IAT fits.

Pure functions, no lake: `analysis.burstiness` aggregates in DuckDB and hands these binned
counts or a bounded sample of inter-arrival gaps. Property tests pin them on simulated
processes (Poisson: CV 1, IDC 1, H 0.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import signal, stats

FloatArray = NDArray[np.float64]

# Model name -> scipy distribution; every fit pins loc at 0 (a gap cannot be negative).
MODELS: dict[str, Any] = {
    "exponential": stats.expon,
    "gamma": stats.gamma,
    "weibull": stats.weibull_min,
    "lognormal": stats.lognorm,
}
# Free parameters per model once loc is fixed, for AIC.
N_PARAMS = {"exponential": 1, "gamma": 2, "weibull": 2, "lognormal": 2}

# A gap of g clock ticks read off a clock of resolution r is known to +-r/2, a relative error
# of 1/(2g): below 50 ticks that exceeds 1 %, and the gap is treated as an interval.
EXACT_TICKS = 50
# Fits fall back to interval censoring once at least this share of gaps is that coarse;
# below it the few short gaps are set to the middle of their interval, which cannot move a
# fit by more than the share itself.
CENSOR_SHARE = 0.01
# scipy fits censored data by numerical optimisation: bound the sample it sees.
CENSORED_SAMPLE = 10_000
# Below a mean gap of two clock ticks the shape of the gap distribution is not in the
# timestamps: on simulated Poisson arrivals read off a clock, the interval-censored fits still
# name the exponential at 2 ticks, but prefer gamma or Weibull at 1.5 ticks and below.
MIN_MEAN_TICKS = 2.0


def as_float(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64).ravel()


# --- moments --------------------------------------------------------------------------------


def cv(values: ArrayLike) -> float:
    """Coefficient of variation, sample standard deviation over mean (NaN when undefined)."""
    x = as_float(values)
    if x.size < 2 or x.mean() <= 0:
        return math.nan
    return float(x.std(ddof=1) / x.mean())


def cv_from_moments(n: int, mean: float | None, std: float | None) -> float:
    if n < 2 or mean is None or std is None or not mean > 0:
        return math.nan
    return float(std / mean)


def idc(counts: ArrayLike) -> float:
    """Index of dispersion of counts, variance over mean (1 for a Poisson process)."""
    c = as_float(counts)
    if c.size < 2 or c.mean() <= 0:
        return math.nan
    return float(c.var(ddof=1) / c.mean())


def idc_from_moments(total: float, total_sq: float, bins: int) -> float:
    """IDC of `bins` counts known only by their sum and sum of squares (empty bins add 0)."""
    if bins < 2 or total <= 0:
        return math.nan
    mean = total / bins
    var = (total_sq - bins * mean * mean) / (bins - 1)
    return float(max(var, 0.0) / mean)


def aggregate(counts: ArrayLike, factor: int) -> FloatArray:
    """Sums over consecutive blocks of `factor` bins; an incomplete last block is dropped."""
    c = as_float(counts)
    k = c.size // factor
    return c[: k * factor].reshape(k, factor).sum(axis=1)


def idc_curve(counts: ArrayLike, bin_s: float, windows: list[float]) -> dict[float, float]:
    """IDC at each window (a whole multiple of `bin_s`) with at least 10 complete windows."""
    c = as_float(counts)
    out: dict[float, float] = {}
    for w in windows:
        factor = round(w / bin_s)
        if factor < 1 or not math.isclose(factor * bin_s, w, rel_tol=1e-9):
            continue
        if c.size // factor >= 10:
            out[w] = idc(aggregate(c, factor))
    return out


def poisson_idc_band(bins: int, mean: float) -> float:
    """Half-width of a 3-sigma band around IDC 1 for `bins` Poisson counts of mean `mean`.

    For Poisson counts the sample variance s^2 of n values has Var(s^2) ~ (m + 2 m^2) / n
    (fourth central moment m + 3 m^2), so IDC = s^2 / m has standard error
    sqrt((2 + 1/m) / n): about sqrt(2 / n) for busy windows, wider for sparse ones.
    """
    if bins < 2 or not mean > 0:
        return math.inf
    return 3.0 * math.sqrt((2.0 + 1.0 / mean) / (bins - 1))


# --- effective clock ------------------------------------------------------------------------

# A trace whose timestamps are logged in batches: most gaps are zero at the declared clock and
# the others sit on a grid of one period many ticks long (Mooncake: 90 % zero, the rest 2.997 to
# 3.003 s at a 1 ms clock). The arrivals are then known only to that period, whatever the clock
# says. Each condition is far from the sample traces that are not batched:
BATCH_TIE_SHARE = 0.5  # at least this share of gaps are ties (under half a declared tick)
BATCH_MIN_GAPS = 50  # nonzero gaps needed to call a grid (a tiny regular trace, e.g. 20
# instants 10 s apart, stays at its declared clock)
BATCH_TICKS = 10.0  # the period is at least this many declared ticks
BATCH_TOLERANCE = 0.01  # a gap within this share of a period of k periods is on the grid
BATCH_ON_GRID = 0.99  # at least this share of the nonzero gaps are on the grid


def effective_tick(gaps: ArrayLike, resolution_s: float) -> float | None:
    """The batch period of gaps read off a batched log (see BATCH_*), else None.

    The period is the median of the shortest nonzero gaps (those under 1.5 times the 5th
    percentile: a longer gap spans empty batches), in whole declared ticks. The log is called
    batched when ties dominate, the period is many declared ticks long, and nearly every
    nonzero gap is a whole number of periods (k >= 1), within BATCH_TOLERANCE of a period:
    gaps of a process read at the declared clock land there only by chance (about 2 % of them).
    """
    g = as_float(gaps)
    g = g[np.isfinite(g) & (g >= 0)]
    r = float(resolution_s)
    zero = g < r / 2
    nonzero = g[~zero]
    if g.size < 2 or zero.mean() < BATCH_TIE_SHARE or nonzero.size < BATCH_MIN_GAPS:
        return None
    shortest = nonzero[nonzero < 1.5 * np.quantile(nonzero, 0.05)]
    if shortest.size == 0:  # pragma: no cover - the 5th percentile is one of the gaps
        return None
    period = round(float(np.median(shortest)) / r) * r
    if period < BATCH_TICKS * r:
        return None
    k = np.maximum(np.round(nonzero / period), 1.0)
    on_grid = np.abs(nonzero - k * period) <= BATCH_TOLERANCE * period
    return period if float(on_grid.mean()) >= BATCH_ON_GRID else None


# --- Hurst exponent -------------------------------------------------------------------------


def _levels(lo: int, hi: int, count: int = 20) -> NDArray[np.int64]:
    if hi < lo:
        return np.array([], dtype=np.int64)
    return np.unique(np.logspace(math.log10(lo), math.log10(hi), count).astype(np.int64))


def _slope(x: FloatArray, y: FloatArray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return math.nan
    return float(np.polyfit(x[ok], y[ok], 1)[0])


def _repeats_exactly(c: FloatArray, sizes: NDArray[np.int64]) -> bool:
    """Counts that vary but whose block sums at some size do not: the series repeats exactly
    (arrivals at a constant rate slower than the bins, e.g. one every 3 s in 1 s bins). No
    power law describes it, and both estimators would return numbers outside [0, 1]."""
    if c.std() == 0:
        return False
    return any(aggregate(c, int(m)).std() == 0 for m in sizes if m > 1)


def hurst_aggregated_variance(counts: ArrayLike, min_blocks: int = 10) -> float:
    """Hurst exponent from the variance-time plot: Var(X^(m)) ~ m^(2H - 2).

    X^(m) is the series of means over blocks of m bins, for m log-spaced from 1 to the size
    that still leaves `min_blocks` blocks.
    """
    c = as_float(counts)
    levels = _levels(1, c.size // min_blocks)
    if levels.size < 3:
        return math.nan
    if _repeats_exactly(c, levels):
        return math.nan
    logs_m, logs_v = [], []
    for m in levels:
        means = aggregate(c, int(m)) / m
        v = means.var(ddof=1)
        if v > 0:
            logs_m.append(math.log10(m))
            logs_v.append(math.log10(v))
    beta = _slope(np.array(logs_m), np.array(logs_v))
    return 1.0 + beta / 2.0


def rescaled_range(block: ArrayLike) -> float:
    """R/S of one block: range of the cumulative deviations over the standard deviation."""
    x = as_float(block)
    s = x.std()
    if x.size < 2 or s == 0:
        return math.nan
    z = np.cumsum(x - x.mean())
    return float((z.max() - z.min()) / s)


def _mean_rs(c: FloatArray, n: int) -> float:
    k = c.size // n
    blocks = c[: k * n].reshape(k, n)
    dev = blocks - blocks.mean(axis=1, keepdims=True)
    z = np.cumsum(dev, axis=1)
    r = z.max(axis=1) - z.min(axis=1)
    s = blocks.std(axis=1)
    ok = s > 0
    return float((r[ok] / s[ok]).mean()) if ok.any() else math.nan


def _anis_lloyd(n: int) -> float:
    """Expected R/S of n i.i.d. normal values (Anis and Lloyd 1976, Peters' correction)."""
    i = np.arange(1, n, dtype=np.float64)
    tail = float(np.sqrt((n - i) / i).sum())
    if n <= 340:
        front = math.exp(math.lgamma((n - 1) / 2) - math.lgamma(n / 2)) / math.sqrt(math.pi)
    else:
        front = 1.0 / math.sqrt(n * math.pi / 2)
    return (n - 0.5) / n * front * tail


def hurst_rescaled_range(counts: ArrayLike, min_n: int = 16, min_blocks: int = 4) -> float:
    """Hurst exponent by rescaled range: E[R/S](n) ~ n^H, over block sizes n log-spaced.

    Plain R/S overstates H on short blocks (i.i.d. data give about 0.55-0.6), so the slope is
    taken of R/S over its expected value for i.i.d. data (Anis-Lloyd with Peters' correction),
    plus 0.5: the R/S-AL estimator, which is 0.5 for white noise at every block size.
    """
    c = as_float(counts)
    sizes = _levels(min_n, c.size // min_blocks)
    if sizes.size < 3 or _repeats_exactly(c, sizes):
        return math.nan
    logs_n, logs_rs = [], []
    for n in sizes:
        rs = _mean_rs(c, int(n))
        if rs > 0:
            logs_n.append(math.log10(n))
            logs_rs.append(math.log10(rs / _anis_lloyd(int(n))))
    return 0.5 + _slope(np.array(logs_n), np.array(logs_rs))


# --- periodicity ----------------------------------------------------------------------------

DAY_S = 86_400.0
WEEK_S = 7 * DAY_S
# A cycle is called present when the autocorrelation at its period is clearly positive and
# clearly above the autocorrelation at a reference lag half a period away (a trend lifts both
# alike). For the week the reference is the mean of 3 and 4 days, whole days, so that a daily
# cycle (which repeats every 7 days too) does not read as a weekly one.
CYCLE_ACF = 0.2
CYCLE_CONTRAST = 0.2
CYCLES: dict[str, tuple[float, tuple[float, ...]]] = {
    "daily": (DAY_S, (DAY_S / 2,)),
    "weekly": (WEEK_S, (3 * DAY_S, 4 * DAY_S)),
}


def autocorrelation(x: ArrayLike, lag: int) -> float:
    """Pearson correlation of the series with itself `lag` bins later."""
    c = as_float(x)
    if lag <= 0 or c.size - lag < 3:
        return math.nan
    a, b = c[:-lag], c[lag:]
    if a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def acf(x: ArrayLike, max_lag: int) -> FloatArray:
    """Autocorrelation function at lags 0..max_lag (biased estimator, FFT)."""
    c = as_float(x)
    c = c - c.mean()
    n = c.size
    denom = float(c @ c)
    if n < 2 or denom == 0:
        return np.full(max(max_lag, 0) + 1, np.nan)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(c, size)
    r = np.fft.irfft(f * np.conj(f), size)[: min(max_lag, n - 1) + 1]
    return np.asarray(r / denom, dtype=np.float64)


@dataclass(frozen=True)
class Cycle:
    """A daily or weekly cycle check: the autocorrelation of counts at the period and at the
    reference lags (see CYCLES), and whether that reads as a cycle."""

    acf: float
    acf_reference: float
    detected: bool


@dataclass(frozen=True)
class Periodicity:
    """Periodogram peaks and cycle checks of one count series (see `periodicity`).

    `cycles`: "daily" / "weekly" -> the check, or None when the span is too short for it (two
    full periods are needed)."""

    bin_s: float  # width of the counts (s)
    span_s: float  # bins x bin_s
    top_periods_s: list[float] = field(default_factory=list)  # strongest first
    top_power_share: list[float] = field(default_factory=list)  # each peak's share of power
    cycles: dict[str, Cycle | None] = field(default_factory=dict)


def periodicity(counts: ArrayLike, bin_s: float, top: int = 3) -> Periodicity:
    """Dominant periods from the periodogram, and daily / weekly cycles from the ACF.

    Periods are read off the periodogram of the linearly detrended counts, among periods
    that fit at least twice in the span; `top_power_share` is each peak's share of the total
    power. A daily (weekly) check needs two full days (weeks) of data; otherwise that entry
    is None (span too short). See CYCLES for the reference lags.
    """
    c = as_float(counts)
    span = c.size * bin_s
    periods: list[float] = []
    shares: list[float] = []
    if c.size >= 8 and c.std() > 0:
        freqs, power = signal.periodogram(c, fs=1.0 / bin_s, detrend="linear")
        keep = (freqs > 0) & (freqs >= 2.0 / span)
        f, p = freqs[keep], power[keep]
        total = float(power[freqs > 0].sum())
        if f.size and total > 0:
            peaks, _ = signal.find_peaks(np.concatenate(([0.0], p, [0.0])))
            peaks = peaks - 1
            order = sorted(peaks, key=lambda i: (-p[i], f[i]))[:top]
            periods = [float(1.0 / f[i]) for i in order]
            shares = [float(p[i] / total) for i in order]
    cycles: dict[str, Cycle | None] = {}
    for name, (period, references) in CYCLES.items():
        if span < 2 * period:
            cycles[name] = None
            continue
        at = autocorrelation(c, round(period / bin_s))
        ref = float(np.mean([autocorrelation(c, round(r / bin_s)) for r in references]))
        detected = bool(at > CYCLE_ACF and at - ref > CYCLE_CONTRAST)
        cycles[name] = Cycle(acf=at, acf_reference=ref, detected=detected)
    return Periodicity(bin_s, span, periods, shares, cycles)


# --- inter-arrival fits ---------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """One fitted model: named parameters (shape, scale in s), KS distance, AIC."""

    model: str
    params: dict[str, float]
    ks: float
    aic: float
    log_likelihood: float

    def frozen(self) -> Any:
        """The fitted scipy distribution."""
        shape = () if self.model == "exponential" else (self.params["shape"],)
        return MODELS[self.model](*shape, loc=0, scale=self.params["scale"])


@dataclass(frozen=True)
class FitReport:
    """All fits of one gap sample and how they were made."""

    fits: dict[str, Fit]
    best: str | None
    sample: int
    censored: int  # gaps fitted as intervals (clock-rounded)
    method: str  # "exact" | "interval-censored" | "refused"
    refused: str | None = None  # why no fit was made


def _named(model: str, theta: tuple[float, ...]) -> dict[str, float]:
    if model == "exponential":
        return {"scale": float(theta[-1])}
    return {"shape": float(theta[0]), "scale": float(theta[-1])}


def ks_grouped(values: FloatArray, lower: FloatArray, upper: FloatArray, cdf: Any) -> float:
    """Kolmogorov-Smirnov distance for values some of which are known only as intervals.

    The empirical CDF jumps at each distinct observed value v; the model is compared with it
    just below v at the lower end of v's interval and at v at the upper end. With every
    interval a point this is the usual two-sided KS statistic.
    """
    order = np.argsort(values, kind="stable")
    v, lo, hi = values[order], lower[order], upper[order]
    n = v.size
    _, first = np.unique(v, return_index=True)
    last = np.append(first[1:], n)
    ecdf_below = first / n
    ecdf_at = last / n
    f_lo = cdf(lo[first])
    f_hi = cdf(hi[first])
    return float(max(np.max(np.abs(ecdf_at - f_hi)), np.max(np.abs(ecdf_below - f_lo))))


def clock_intervals(
    gaps: ArrayLike, resolution_s: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Clock readings of gaps and bounds on the true gaps behind them: (value, lower, upper).

    Below EXACT_TICKS ticks a gap is snapped to its tick k (which also absorbs float error
    from subtracting epoch seconds) and stands for [(k - 1/2) r, (k + 1/2) r], clipped at 0:
    a zero gap is two arrivals within one tick, not a simultaneous pair. The intervals of
    distinct ticks do not overlap, so the censored likelihood is a proper one. Longer gaps are
    exact.
    """
    g = as_float(gaps)
    r = float(resolution_s)
    coarse = g < EXACT_TICKS * r
    ticks = np.round(g / r)
    value = np.where(coarse, ticks * r, g)
    lower = np.where(coarse, np.maximum((ticks - 0.5) * r, 0.0), g)
    upper = np.where(coarse, (ticks + 0.5) * r, g)
    return value, lower, upper


def _systematic(x: FloatArray, size: int) -> FloatArray:
    if x.size <= size:
        return x
    step = math.ceil(x.size / size)
    return x[::step]


def fit_interarrivals(
    gaps: ArrayLike, resolution_s: float, censored_sample: int = CENSORED_SAMPLE
) -> FitReport:
    """MLE fits (loc 0) of exponential, gamma, Weibull and lognormal; best model by AIC.

    Gaps are clock readings at `resolution_s`. When at least 1 % of them are within
    EXACT_TICKS ticks (where rounding moves them by more than 1 %), the short ones are fitted
    as interval-censored values (scipy's CensoredData) on a systematic subsample of at most
    `censored_sample` gaps, so a zero gap at a 1 s clock counts as "under half a second", never
    as zero. Otherwise the few short gaps take the middle of their interval and the fit is
    the ordinary one. KS is `ks_grouped`, which is scipy's KS statistic when nothing is
    censored. With a mean gap under MIN_MEAN_TICKS ticks no fit is made (`refused` says why).

    The +-r/2 interval is the rounding model; a gap between two floored clock readings is
    really spread over (g - r, g + r) with triangular weight. The two agree once gaps span a
    few ticks, which MIN_MEAN_TICKS ensures on average.
    """
    g = as_float(gaps)
    g = g[np.isfinite(g) & (g >= 0)]
    r = float(resolution_s)
    if g.size < 10:
        why = f"only {g.size} gaps"
        return FitReport({}, None, int(g.size), 0, "refused", why)
    if np.ptp(g) == 0:  # arrivals at a constant rate: any model "fits" a single value
        why = f"every gap is {g[0]:.3g} s: there is no spread to fit"
        return FitReport({}, None, int(g.size), 0, "refused", why)
    if g.mean() < MIN_MEAN_TICKS * r:
        why = (
            f"the mean gap ({g.mean():.3g} s) is under {MIN_MEAN_TICKS:g} ticks of the "
            f"{r:g} s clock: the timestamps do not hold the shape of the distribution"
        )
        return FitReport({}, None, int(g.size), 0, "refused", why)
    coarse = g < EXACT_TICKS * r
    censored_path = bool(coarse.mean() >= CENSOR_SHARE)
    if censored_path:
        g, lower, upper = clock_intervals(_systematic(g, censored_sample), r)
        exact = lower == upper
        data: Any = stats.CensoredData(uncensored=g[exact], interval=np.c_[lower, upper][~exact])
        n_censored = int((~exact).sum())
    else:
        _, lower, upper = clock_intervals(g, r)
        g = np.where(lower < upper, (lower + upper) / 2, g)
        lower = upper = g
        exact = np.ones(g.size, dtype=bool)
        data = g
        n_censored = 0
    fits: dict[str, Fit] = {}
    for name, dist in MODELS.items():
        # A censored likelihood probes parameters where an interval has zero mass: log(0)
        # there is the optimiser's penalty, not an error.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            try:
                theta = dist.fit(data, floc=0)
            except (ValueError, RuntimeError, FloatingPointError):
                continue
        frozen = dist(*theta)
        with np.errstate(divide="ignore"):
            ll = float(np.sum(frozen.logpdf(g[exact])))
            if not exact.all():
                mass = frozen.cdf(upper[~exact]) - frozen.cdf(lower[~exact])
                ll += float(np.sum(np.log(mass)))
        if not math.isfinite(ll):
            continue
        if censored_path:
            ks = ks_grouped(g, lower, upper, frozen.cdf)
        else:
            # asymptotic p-value: the exact one costs 0.1 s per model at 200k gaps, unused
            ks = float(stats.kstest(g, frozen.cdf, method="asymp").statistic)
        aic = 2 * N_PARAMS[name] - 2 * ll
        fits[name] = Fit(name, _named(name, theta), ks, aic, ll)
    best = min(fits, key=lambda k: (fits[k].aic, k)) if fits else None
    return FitReport(
        fits=fits,
        best=best,
        sample=int(g.size),
        censored=n_censored,
        method="interval-censored" if censored_path else "exact",
    )
