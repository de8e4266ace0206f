"""Arrival models that keep a trace's burstiness, fitted and chosen by measured fidelity.

Every model here is one shape: a point process of unit rate in *operational time*, mapped to
real time by the cumulative intensity

    Lambda(t) = rate_scale x mean_rate x integral of curve(s) x level(s) ds

where `curve` is the trace's rate curve (`generate.rate_curve`, 1 when the model has none) and
`level` a Markov-modulated multiplier (`generate.mmpp`, 1 when it has none). The operational
process is Poisson (exponential gaps) or a renewal process of a fitted gap law with mean 1.
Arrivals are Lambda^-1 of the cumulative sums of the gaps: no sort, vectorized, linear in the
number of arrivals.

Candidates (`CANDIDATES`):
- poisson: constant rate, exponential gaps (the baseline that erases burstiness);
- rate_poisson: the rate curve, exponential gaps (an inhomogeneous Poisson process);
- rate_renewal: the rate curve, gaps in operational time of the law with the lowest AIC among
  exponential, gamma, Weibull and lognormal (`analysis.arrival_stats.fit_interarrivals`);
- rate_empirical: the rate curve, gaps in operational time resampled from the source's own;
- mmpp: a 2-state Markov-modulated Poisson process at a constant mean rate;
- rate_mmpp: the rate curve times a 2-state Markov modulation, Poisson within;
- rate_batch: batches (arrivals in the same clock tick) at epochs of `rate_empirical`, each a
  batch of the source resampled whole (`generate.clusters`);
- rate_cluster: the same with clusters (arrivals within 10 % of the mean gap of the one before).
The rate curve's bins (holding 10, 50, 250 or 1000 arrivals on average) are part of the fit:
`rate_empirical`, `rate_batch` and `rate_cluster` are tried with each, and the other curve
models take the one `rate_empirical` did best with (see `_ranked`).
`fit_arrivals` fits each, samples each over the source span with a fixed seed, scores it with
`generate.fidelity.arrival_fidelity` against the source and keeps the one with the fewest
statistics out of tolerance, then the smallest mean distance over tolerance; `describe()` of
the winner says what it beat.

Rate scaling multiplies Lambda by K: the curve's shape, the gap law in operational time (so the
inter-arrival CV) and the sojourns of the modulation (in seconds) are kept; counts are K times
larger.

The clock: a source known only to a tick (its declared clock, or the batch period of a
batched log such as Mooncake's 3 s) is de-quantized before fitting (each arrival moved
uniformly within its tick, which is exact for a Poisson process within the tick), and models
keep that tick: `sample` returns times floored to whole ticks, as the source's are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis import arrival_stats as st
from generate.clusters import CLUSTER_GAP_SHARE, ClusterShapes, IntArray, find_clusters
from generate.fidelity import TOLERANCES, Statistic, arrival_fidelity
from generate.measures import on_clock
from generate.mmpp import MAX_FIT_BINS, MarkovModulation, fit_modulation
from generate.rate_curve import RateCurve, curve_bin, fit_rate_curve
from ingest.errors import DataError

FloatArray = NDArray[np.float64]

CANDIDATES: tuple[str, ...] = (
    "poisson",
    "rate_poisson",
    "rate_renewal",
    "rate_empirical",
    "mmpp",
    "rate_mmpp",
    "rate_batch",
    "rate_cluster",
    "rate_fixed",
    "rate_cluster_fixed",
)
MIN_EVENTS = 20  # as analysis.burstiness: fewer arrivals carry no burstiness worth fitting
SELECTION_SEED = 20_250_614  # the seed candidates are sampled with when they are compared
LAW_SAMPLE = 200_000  # gaps the parametric laws are fitted on (a systematic sample)
SELECTION_EVENTS = 300_000  # candidates are compared on at most this many source arrivals
EMPIRICAL_SAMPLE = 1_000_000  # operational-time gaps an empirical law keeps
MMPP_STATES = 2
# Counts the Markov modulation is fitted on: bins with this many arrivals on average
# (fine enough to see bursts, coarse enough that a bin is not mostly 0 or 1).
MMPP_PER_BIN = 5.0
# Rate curves tried: bins holding this many arrivals on average (see `best_curve`).
CURVE_PER_BIN: tuple[float, ...] = (10.0, 50.0, 250.0, 1000.0)
# rate_cluster: arrivals closer than CLUSTER_GAP_SHARE of the mean gap to the one before are
# one cluster (generate.clusters); rate_batch: arrivals in the same clock tick are.
# A clustered candidate must group at least twice the share of arrivals a Poisson process
# groups by chance (gaps under CLUSTER_GAP_SHARE of the mean: 1 - exp(-share), 9.5 %), so that
# a trace without real clusters is not fitted clusters of chance.
MIN_CLUSTERED = 2 * (1 - math.exp(-CLUSTER_GAP_SHARE))


class TooFewArrivals(DataError):
    """Fewer arrivals than a model can be fitted on."""


class ArrivalModel(Protocol):
    """A fitted arrival model (frozen): sample it at any duration and rate scale."""

    @property
    def name(self) -> str: ...

    @property
    def tick_s(self) -> float: ...

    def sample(self, duration_s: float, rate_scale: float, rng: np.random.Generator) -> FloatArray:
        """Sorted arrival times, seconds from 0, over [0, duration_s)."""
        ...

    def describe(self) -> dict[str, Any]:
        """Name and parameters, JSON-able, for the output and the fidelity table."""
        ...


# ---------------------------------------------------------------- gap laws


@dataclass(frozen=True)
class GapLaw:
    """Inter-arrival times in operational time, mean 1: a parametric law or resampled gaps."""

    law: str  # exponential | gamma | weibull | lognormal | empirical
    shape: float = 1.0  # gamma and Weibull shape, lognormal sigma
    values: FloatArray = field(default_factory=lambda: np.ones(1))  # empirical: mean-1 gaps
    ks: float | None = None  # KS distance of the fit to the gaps it was fitted on

    def draw(self, n: int, rng: np.random.Generator) -> FloatArray:
        k = self.shape
        if self.law == "exponential":
            return rng.standard_exponential(n)
        if self.law == "gamma":
            return rng.gamma(k, 1.0 / k, n)
        if self.law == "weibull":
            return rng.weibull(k, n) / math.gamma(1.0 + 1.0 / k)
        if self.law == "lognormal":
            return rng.lognormal(-k * k / 2.0, k, n)
        return self.values[rng.integers(0, self.values.size, n)]

    @property
    def cv(self) -> float:
        k = self.shape
        if self.law == "exponential":
            return 1.0
        if self.law == "gamma":
            return 1.0 / math.sqrt(k)
        if self.law == "weibull":
            g1, g2 = math.gamma(1 + 1 / k), math.gamma(1 + 2 / k)
            return math.sqrt(max(g2 / (g1 * g1) - 1.0, 0.0))
        if self.law == "lognormal":
            return math.sqrt(math.expm1(k * k))
        return float(self.values.std() / self.values.mean())

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"law": self.law, "cv": self.cv}
        if self.law in ("gamma", "weibull"):
            out["shape"] = self.shape
        if self.law == "lognormal":
            out["sigma"] = self.shape
        if self.law == "empirical":
            out["gaps"] = int(self.values.size)
        if self.ks is not None:
            out["ks"] = self.ks
        return out


EXPONENTIAL = GapLaw("exponential")


def fit_gap_law(gaps: FloatArray) -> GapLaw:
    """The law of lowest AIC (loc 0) among the report's models, normalized to mean 1."""
    g = np.asarray(gaps, dtype=np.float64)
    g = g[np.isfinite(g) & (g > 0)]
    if g.size > LAW_SAMPLE:
        g = g[:: math.ceil(g.size / LAW_SAMPLE)]
    report = st.fit_interarrivals(g / g.mean(), resolution_s=1e-12)
    if report.best is None:
        return EXPONENTIAL
    fit = report.fits[report.best]
    shape = fit.params.get("shape", 1.0)
    return GapLaw(report.best, shape=float(shape), ks=fit.ks)


def empirical_law(gaps: FloatArray, rng: np.random.Generator) -> GapLaw:
    g = np.asarray(gaps, dtype=np.float64)
    g = g[np.isfinite(g) & (g >= 0)]
    if g.size > EMPIRICAL_SAMPLE:
        g = rng.choice(g, EMPIRICAL_SAMPLE, replace=False)
    return GapLaw("empirical", values=g / g.mean())


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class ModulatedArrivals:
    """Unit-rate gaps in operational time, mapped to real time through the rate curve and the
    Markov modulation (either may be absent). See the module docstring."""

    name: str
    mean_rate: float  # points (arrivals, or cluster epochs) per second over the source span
    span_s: float  # the source span (s), the default duration
    gaps: GapLaw = EXPONENTIAL
    curve: RateCurve | None = None
    modulation: MarkovModulation | None = None
    clusters: ClusterShapes | None = None  # None: each point is one arrival
    # Points per bin of the curve fixed at its expected number (rounded at random), placed by
    # the gap law within the bin (see `_stratified_times`); False: a renewal process.
    fixed_counts: bool = False
    tick_s: float = 0.0  # times are floored to whole ticks (0: not at all)
    selection: tuple[tuple[str, int, float], ...] = ()  # (candidate, failed, score) compared

    def intensity(
        self, duration_s: float, rate_scale: float, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        """Edges over [0, duration_s] and the arrival rate (/s) between consecutive edges."""
        if self.curve is not None:
            edges, rel = self.curve.over(duration_s)
        else:
            edges, rel = np.array([0.0, duration_s]), np.ones(1)
        if self.modulation is not None:
            m_edges, levels = self.modulation.path(duration_s, rng)
            merged = np.union1d(edges, m_edges)
            mids = (merged[:-1] + merged[1:]) / 2
            c_idx = np.clip(np.searchsorted(edges, mids, side="right") - 1, 0, rel.size - 1)
            m_idx = np.clip(np.searchsorted(m_edges, mids, side="right") - 1, 0, levels.size - 1)
            edges, rel = merged, rel[c_idx] * levels[m_idx]
        return edges, rate_scale * self.mean_rate * rel

    def sample(self, duration_s: float, rate_scale: float, rng: np.random.Generator) -> FloatArray:
        """Sorted arrival times (s) over [0, duration_s), on the model's tick."""
        if not duration_s > 0 or not rate_scale > 0:
            raise ValueError(
                f"duration and rate scale must be positive: {duration_s}, {rate_scale}"
            )
        edges, rate = self.intensity(duration_s, rate_scale, rng)
        cum = np.concatenate(([0.0], np.cumsum(rate * np.diff(edges))))
        total = float(cum[-1])
        # Stationary start: the first arrival comes a uniform share of a gap after 0.
        if self.fixed_counts:
            u = _stratified_times(self.gaps, cum, rng)
        else:
            u = _operational_times(self.gaps, total, rng)
        t = np.interp(u, cum, edges)
        if self.tick_s > 0:
            t = np.floor(t / self.tick_s) * self.tick_s
        if self.clusters is not None:
            # A K-times busier workload is the source's process with time compressed K-fold,
            # clusters included: their members come K times closer, so the gaps' law (x K)
            # is kept, as the fidelity table checks it.
            t = self.clusters.expand(
                t, rng, self.curve.source_time if self.curve else None, 1.0 / rate_scale
            )
            t = t[t >= 0]  # members before their anchor, of a cluster anchored at the start
        return t[t < duration_s]

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.name,
            "mean_rate_per_s": self.mean_rate,
            "source_span_s": self.span_s,
            "gaps": self.gaps.describe(),
            "tick_s": self.tick_s,
        }
        if self.fixed_counts:
            out["counts"] = "fixed per bin of the rate curve"
        if self.curve is not None:
            out["rate_curve"] = self.curve.describe()
        if self.modulation is not None:
            out["modulation"] = self.modulation.describe()
        if self.clusters is not None:
            out["clusters"] = self.clusters.describe()
            out["arrival_rate_per_s"] = self.mean_rate * self.clusters.mean_size
        if self.selection:
            out["selected_over"] = [
                {"candidate": name, "failed": failed, "score": score}
                for name, failed, score in self.selection
            ]
        return out


def _operational_times(law: GapLaw, total: float, rng: np.random.Generator) -> FloatArray:
    """Points of a unit-rate renewal process of `law` over [0, total), stationary start."""
    n = int(total + 6 * math.sqrt(total * max(law.cv, 1.0) ** 2 + 1) + 16)
    gaps = law.draw(n, rng)
    gaps[0] *= rng.random()
    u = np.cumsum(gaps)
    while u[-1] < total:  # rare: a heavy-tailed law fell short; draw on
        more = np.cumsum(law.draw(max(n // 4, 16), rng)) + u[-1]
        u = np.concatenate((u, more))
    return u[: int(np.searchsorted(u, total))]


def _stratified_times(law: GapLaw, cum: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Points in operational time with a fixed count in each interval [cum[i], cum[i+1]): its
    length m rounded down or up at random (mean m), placed where n + 1 gaps of `law`, scaled to
    fill the interval, put them. Counts keep the curve without a renewal process's count noise
    (which, for a few large clusters, moves the arrival count by whole clusters); the gaps keep
    their shape up to the scaling."""
    mass = np.diff(cum)
    n = np.floor(mass).astype(np.int64)
    n += rng.random(n.size) < (mass - n)
    k = n + 1  # gaps per interval: the last one ends at its end and makes no point
    g = law.draw(int(k.sum()), rng)
    ends = np.cumsum(k)
    np.cumsum(g, out=g)  # g holds cumulative sums from here
    before = np.concatenate(([0.0], g[ends[:-1] - 1]))
    scale = mass / np.maximum(g[ends - 1] - before, 1e-300)
    g -= np.repeat(before, k)
    g *= np.repeat(scale, k)
    g += np.repeat(cum[:-1], k)
    keep = np.ones(g.size, dtype=bool)
    keep[ends - 1] = False
    return g[keep]


# ---------------------------------------------------------------- fitting


@dataclass(frozen=True)
class Candidate:
    """A fitted candidate and its fidelity to the source over the source span."""

    model: ModulatedArrivals
    rows: list[Statistic]
    failed: int
    score: float  # mean over checked statistics of min(distance / tolerance, 5)


@dataclass(frozen=True)
class Selection:
    """Every candidate fitted to one source, best first."""

    candidates: list[Candidate]

    @property
    def best(self) -> ModulatedArrivals:
        return self.candidates[0].model


def _score(rows: list[Statistic]) -> tuple[int, float]:
    checked = [r for r in rows if r.tolerance is not None]
    failed = sum(1 for r in checked if r.passed is False)
    ratios = [
        min(
            (r.distance if r.distance is not None else math.inf) / max(r.tolerance or 0, 1e-12), 5.0
        )
        for r in checked
    ]
    return failed, float(np.mean(ratios)) if ratios else 0.0


def dequantized(ts_s: FloatArray, resolution_s: float, rng: np.random.Generator) -> FloatArray:
    """Arrival times known to a tick, each moved uniformly within its tick (sorted)."""
    t = np.asarray(ts_s, dtype=np.float64)
    if resolution_s <= 0:
        return np.sort(t)
    on = np.round(t / resolution_s) * resolution_s
    return np.sort(on + rng.uniform(0.0, resolution_s, t.size))


def _operational(t: FloatArray, curve: RateCurve | None, mean_rate: float) -> FloatArray:
    """Lambda(t) of the source's own arrivals under the curve (unit mean gaps)."""
    if curve is None:
        return t * mean_rate
    edges, rel = curve.over(curve.span_s)
    cum = np.concatenate(([0.0], np.cumsum(rel * mean_rate * np.diff(edges))))
    return np.interp(t, edges, cum)


def _modulation(
    t: FloatArray, span_s: float, curve: RateCurve | None, mean_rate: float, resolution_s: float
) -> MarkovModulation | None:
    per = MMPP_PER_BIN / mean_rate
    bin_s = max(per, span_s / MAX_FIT_BINS, resolution_s)
    nbins = math.floor(span_s / bin_s)
    if nbins < 4 * MMPP_STATES:
        return None
    counts = np.bincount(np.minimum((t / bin_s).astype(np.int64), nbins), minlength=nbins + 1)
    lo = np.arange(nbins + 1, dtype=np.float64) * bin_s
    cum = _operational(lo, curve, mean_rate)
    return fit_modulation(counts[:nbins].astype(np.float64), np.diff(cum), bin_s, MMPP_STATES)


def epoch_curve(arrivals: RateCurve, on: FloatArray, anchor: IntArray) -> RateCurve:
    """The rate curve of cluster epochs that, times each bin's mean cluster size, gives the
    arrivals' curve back (whose power already discounts counting noise)."""
    b = arrivals.bin_s
    nbins = arrivals.relative.size
    n_arr = np.bincount(np.minimum((on / b).astype(np.int64), nbins - 1), minlength=nbins)
    n_clu = np.bincount(np.minimum((on[anchor] / b).astype(np.int64), nbins - 1), minlength=nbins)
    size = np.where(n_clu > 0, n_arr / np.maximum(n_clu, 1), 1.0)
    raw = arrivals.relative / size
    lengths = np.diff(arrivals.over(arrivals.span_s)[0])
    total = float(raw @ lengths)
    rel = raw * (arrivals.span_s / total) if total > 0 else np.ones(nbins)
    return replace(arrivals, relative=rel)


def _clustered(
    name: str,
    on: FloatArray,
    gap_s: float,
    span_s: float,
    resolution_s: float,
    curve: RateCurve | None,
    rng: np.random.Generator,
) -> ModulatedArrivals | None:
    """Cluster epochs (rate curve, empirical gaps) with the source's clusters resampled from
    the same bin of the curve; None when clusters would group under MIN_CLUSTERED of the
    arrivals (no different from `rate_empirical`)."""
    anchor, shapes = find_clusters(on, gap_s)
    if anchor.size > (1 - MIN_CLUSTERED) * on.size or anchor.size < MIN_EVENTS:
        return None
    epochs = dequantized(on[anchor], resolution_s, rng)
    mean_rate = epochs.size / span_s
    ecurve = epoch_curve(curve, on, anchor) if curve is not None else None
    if ecurve is not None:
        shapes = replace(shapes, local_s=ecurve.bin_s)
    law = empirical_law(np.diff(_operational(epochs, ecurve, mean_rate)), rng)
    return ModulatedArrivals(
        name, mean_rate, span_s, law, ecurve, clusters=shapes, tick_s=resolution_s
    )


@dataclass(frozen=True)
class _Source:
    """What the fits share: the arrivals on the clock, de-quantized, and the scoring window."""

    on: FloatArray  # sorted, rounded to the clock
    deq: FloatArray  # moved uniformly within their tick
    span_s: float
    resolution_s: float
    score_s: float  # candidates are compared over [0, score_s)
    seed: int

    @property
    def mean_rate(self) -> float:
        return self.deq.size / self.span_s

    def score(self, model: ModulatedArrivals) -> Candidate:
        gen = model.sample(self.score_s, 1.0, np.random.default_rng(self.seed))
        src = self.on[self.on < self.score_s]
        rows = arrival_fidelity(
            src, gen, self.score_s, self.score_s, resolution_s=self.resolution_s
        )
        failed, score = _score(rows)
        return Candidate(model, rows, failed, score)


def _best(cands: list[Candidate]) -> Candidate | None:
    """Fewest failures, then the lowest score; ties go to the coarser rate curve (which leaves
    more to the gaps and keeps the inter-arrival CV when the rate is scaled)."""
    if not cands:
        return None
    return min(
        cands, key=lambda c: (c.failed, c.score, -(c.model.curve.bin_s if c.model.curve else 0))
    )


def _curves(
    src: _Source, power: float | None = None, per_bin: Sequence[float] = CURVE_PER_BIN
) -> list[RateCurve]:
    bins = {curve_bin(src.deq.size, src.span_s, src.resolution_s, p) for p in per_bin}
    return [fit_rate_curve(src.deq, src.span_s, b, power) for b in sorted(b for b in bins if b)]


def _rate_empirical(src: _Source, curve: RateCurve, rng: np.random.Generator) -> ModulatedArrivals:
    law = empirical_law(np.diff(_operational(src.deq, curve, src.mean_rate)), rng)
    return ModulatedArrivals(
        "rate_empirical", src.mean_rate, src.span_s, law, curve, tick_s=src.resolution_s
    )


def _ranked(src: _Source, names: Sequence[str]) -> list[Candidate]:
    """Every named candidate fitted and scored, the best variant of each, best first.

    `rate_empirical`, `rate_batch` and `rate_cluster` are tried under every rate curve (bins
    of CURVE_PER_BIN arrivals); the other curve models take the curve `rate_empirical` did
    best with: a Poisson process would pick the finest curve, to imitate burstiness that is
    really in the gaps."""
    unknown = sorted(set(names) - set(CANDIDATES))
    if unknown:
        raise ValueError(f"Unknown arrival model(s) {unknown}; candidates: {', '.join(CANDIDATES)}")
    rng = np.random.default_rng(src.seed)
    curves = _curves(src)
    best: dict[str, Candidate] = {}

    def keep(name: str, cands: list[Candidate]) -> None:
        chosen = _best(cands)
        if chosen is not None:
            best[name] = chosen

    empirical = [src.score(_rate_empirical(src, c, rng)) for c in curves]
    main = _best(empirical)
    curve = main.model.curve if main is not None else None
    if "rate_empirical" in names:
        keep("rate_empirical", empirical)
    # Fixed counts add no counting noise: their curves are the raw rates (power 1).
    raw_curves = _curves(src, 1.0) if {"rate_fixed", "rate_cluster_fixed"} & set(names) else []
    if "rate_fixed" in names:
        keep(
            "rate_fixed",
            [
                src.score(
                    replace(_rate_empirical(src, c, rng), name="rate_fixed", fixed_counts=True)
                )
                for c in raw_curves
            ],
        )
    mean_gap = src.span_s / src.deq.size
    cluster_gap = {
        "rate_batch": src.resolution_s / 2,
        "rate_cluster": max(mean_gap * CLUSTER_GAP_SHARE, src.resolution_s / 2),
    }
    base = ModulatedArrivals("poisson", src.mean_rate, src.span_s, tick_s=src.resolution_s)
    op_gaps = np.diff(_operational(src.deq, curve, src.mean_rate))
    for name in names:
        if name in ("rate_empirical",) or (name.startswith("rate_") and curve is None):
            continue  # done above, or too few arrivals for a curve (`poisson` stands for it)
        if name in cluster_gap or name == "rate_cluster_fixed":
            family = "rate_cluster" if name == "rate_cluster_fixed" else name
            models = [
                _clustered(
                    family, src.on, cluster_gap[family], src.span_s, src.resolution_s, c, rng
                )
                for c in (raw_curves if name == "rate_cluster_fixed" else curves)
            ]
            fixed = name == "rate_cluster_fixed"
            keep(
                name,
                [
                    src.score(replace(m, name=name, fixed_counts=True) if fixed else m)
                    for m in models
                    if m is not None
                ],
            )
            continue
        c = curve if name.startswith("rate_") else None
        model: ModulatedArrivals | None = None
        if name in ("poisson", "rate_poisson"):
            model = replace(base, name=name, curve=c)
        elif name == "rate_renewal":
            model = replace(base, name=name, curve=c, gaps=fit_gap_law(op_gaps))
        elif name in ("mmpp", "rate_mmpp"):
            mod = _modulation(src.deq, src.span_s, c, src.mean_rate, src.resolution_s)
            model = replace(base, name=name, curve=c, modulation=mod) if mod else None
        if model is not None:
            keep(name, [src.score(model)])
    ranked = list(best.values())
    ranked.sort(key=lambda c: (c.failed, c.score, CANDIDATES.index(c.model.name)))
    return ranked


def select_arrivals(
    ts_s: ArrayLike,
    *,
    span_s: float | None = None,
    resolution_s: float = 0.0,
    names: Sequence[str] = CANDIDATES,
    seed: int = SELECTION_SEED,
) -> Selection:
    """Fit every candidate to arrivals `ts_s` and rank them by fidelity (see the module
    docstring). `ts_s`: seconds from the start of the span; `span_s` defaults to the last
    arrival plus one tick; `resolution_s` is the clock the times are known to.

    Candidates are compared over the whole span, or over its first part holding
    SELECTION_EVENTS arrivals when the source has more (fits always use every arrival)."""
    t = np.sort(np.asarray(ts_s, dtype=np.float64).ravel())
    t = t[np.isfinite(t)]
    if t.size < MIN_EVENTS:
        raise TooFewArrivals(
            f"Only {t.size} arrivals: an arrival model needs at least {MIN_EVENTS}."
        )
    r = max(float(resolution_s), 0.0)
    span = float(span_s) if span_s is not None else float(t[-1]) + (r or float(np.diff(t).mean()))
    if t[0] < 0 or not span > t[-1] - (r or 0.0) * (1 + 1e-9) - 1e-9:
        raise ValueError(f"arrivals must lie in [0, span): first {t[0]}, last {t[-1]}, span {span}")
    on = on_clock(t, r)
    deq = dequantized(on, r, np.random.default_rng(seed))
    score_s = span if t.size <= SELECTION_EVENTS else float(on[SELECTION_EVENTS])
    ranked = _ranked(_Source(on, deq, span, r, score_s, seed), names)
    if not ranked:
        raise TooFewArrivals(f"None of the arrival models {list(names)} could be fitted.")
    summary = tuple((c.model.name, c.failed, round(c.score, 4)) for c in ranked)
    ranked[0] = replace(ranked[0], model=replace(ranked[0].model, selection=summary))
    return Selection(ranked)


def fit_arrivals(
    ts_s: ArrayLike,
    *,
    span_s: float | None = None,
    resolution_s: float = 0.0,
    candidates: Sequence[str] = CANDIDATES,
    seed: int = SELECTION_SEED,
) -> ModulatedArrivals:
    """The candidate arrival model most faithful to arrivals `ts_s` (see `select_arrivals`)."""
    return select_arrivals(
        ts_s, span_s=span_s, resolution_s=resolution_s, names=candidates, seed=seed
    ).best


__all__ = [
    "CANDIDATES",
    "TOLERANCES",
    "ArrivalModel",
    "GapLaw",
    "ModulatedArrivals",
    "Selection",
    "TooFewArrivals",
    "fit_arrivals",
    "select_arrivals",
]
