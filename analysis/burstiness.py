"""Arrivals and burstiness, the compute step: rate over time, inter-arrival CV, IDC curve,
Hurst, periods, fits. `compute` returns a `BurstinessResult`; `analysis.burstiness_report`
turns it into the section.

Events are request arrivals (requests.ts), job submissions (jobs.submit_ts) or, for traces
released as per-interval counts (Azure Functions 2019), the `invocations` series; the first of
these a trace has is analysed. Everything that touches rows runs in DuckDB: the same queries
serve requests and jobs through the `arrivals` view (analysis/queries/burstiness_*.sql), the
series have their own (burstiness_series_*.sql). Python receives one row of moments, counts per
bin (at most MAX_BINS of them) and a systematic sample of at most FIT_SAMPLE gaps, so a trace
of any size costs a few scans. The statistics themselves are in `analysis.arrival_stats`.

Time resolution is respected throughout: no window, bin or period is finer than the trace's
clock (and never finer than 1 ms), gaps shorter than a few ticks are fitted as intervals, not
as numbers, and counts-only series get count-based measures only (no gaps, CV or fits). The
clock is the larger of the declared one and the effective one: timestamps logged in batches
(most gaps zero, the rest whole numbers of one period, see `arrival_stats.effective_tick`) are
known only to the batch period, and that period is then the tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from analysis import arrival_stats as st
from analysis.db import LakeDB

MIN_EVENTS = 20  # fewer arrivals than this carry no dispersion or fit worth reporting
TOP_GROUPS = 5
MIN_RESOLUTION_S = 0.001  # the floor for windows and bins, whatever the clock
# IDC windows: each is a whole multiple of every smaller one, so one array of fine counts
# serves them all.
WINDOWS_S: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0, 60.0, 600.0, 3600.0)
MIN_WINDOWS = 10  # an IDC needs at least this many windows in the span
RATE_BINS_S: tuple[float, ...] = (1, 10, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400)
MAX_RATE_POINTS = 1000
MAX_BINS = 2**21  # fine counts handed to Python: 16 MB as float64
HURST_BINS = 2**18
PERIOD_BINS = 2**14
ACF_POINTS = 1000
FIT_SAMPLE = 200_000
GROUP_FIT_SAMPLE = 50_000
# Censored fits optimise numerically, ~0.1 s per model per 5k gaps: groups get fewer gaps.
GROUP_CENSORED_SAMPLE = 1_000
# Dispersion within this of 1 is called Poisson-like even when statistically distinguishable:
# with millions of windows an IDC of 1.03 is "significant" but not bursty in any useful sense.
IDC_MARGIN = 0.1


# The grouping columns of the arrivals view (requests and jobs), each a filter of its queries.
ARRIVAL_DIMS = ("service", "tenant", "job_type")


@dataclass(frozen=True)
class EventSource:
    """Where a trace's arrivals live: a table, its time column and its grouping columns."""

    table: str
    column: str
    dims: tuple[str, ...]
    counts_only: bool

    @property
    def label(self) -> str:
        if self.counts_only:
            return "series (metric 'invocations')"
        return f"{self.table}.{self.column}"

    def query(self, what: str) -> str:
        return f"burstiness_series_{what}" if self.counts_only else f"burstiness_{what}"

    def scope(self, trace: str) -> dict[str, Any]:
        """The parameters that pick this source's rows of one trace."""
        return {"trace": trace} if self.counts_only else {"trace": trace, "source": self.table}

    def params(self, trace: str, group: tuple[str, str] | None = None) -> dict[str, Any]:
        filters = self.dims if self.counts_only else ARRIVAL_DIMS
        out: dict[str, Any] = {**self.scope(trace), **dict.fromkeys(filters)}
        if group is not None:
            dim, value = group
            if dim not in self.dims:
                raise ValueError(f"{self.table} arrivals group by {self.dims}, not {dim!r}")
            out[dim] = value
        return out


REQUESTS = EventSource("requests", "ts", ("service", "tenant"), counts_only=False)
JOBS = EventSource("jobs", "submit_ts", ("tenant", "job_type"), counts_only=False)
SERIES = EventSource("series", "value", ("service", "tenant"), counts_only=True)
SOURCES = (REQUESTS, JOBS, SERIES)


# ---------------------------------------------------------------- lake access


@dataclass(frozen=True)
class ArrivalSummary:
    """Counts and span of one trace's (or one group's) arrivals, from one SQL aggregate."""

    events: float  # arrivals, or summed invocations for counts
    first_s: float  # epoch seconds of the first arrival (or first interval start)
    span_s: float  # first arrival to last, plus one clock tick (or one interval)
    resolution_s: float  # the clock every measure respects: max(declared, batch period)
    gaps: int = 0
    gap_mean: float | None = None
    gap_std: float | None = None
    ties: int = 0  # gaps under half a declared tick: two arrivals read in the same tick
    declared_resolution_s: float | None = None  # the manifest's clock (None: resolution_s)
    batch_s: float | None = None  # batch period found in the gaps (see st.effective_tick)

    @property
    def rate_per_s(self) -> float:
        return self.events / self.span_s if self.span_s > 0 else math.nan

    @property
    def half_tick(self) -> float:
        return self.resolution_s / 2

    @property
    def declared_s(self) -> float:
        """The clock resolution the trace's manifest declares (or the series interval)."""
        return (
            self.resolution_s if self.declared_resolution_s is None else self.declared_resolution_s
        )

    @property
    def distinct_instants(self) -> int:
        """Distinct timestamps at the declared clock: one per gap that is not a tie, plus one."""
        return self.gaps - self.ties + 1 if self.gaps else round(self.events)


def event_source(db: LakeDB, trace: str) -> EventSource | None:
    """The first of requests, jobs, invocation series that holds arrivals of a timed trace.

    Only the series need a look inside (other metrics share the table); the summary query
    there is a plain aggregate, no sort.
    """
    if not db.info(trace).has_time:
        return None
    for src in SOURCES:
        if not db.has(trace, src.table):
            continue
        if not src.counts_only:
            return src
        summary = arrival_summary(db, trace, src)
        if summary is not None and summary.events > 0:
            return src
    return None


def arrival_summary(
    db: LakeDB,
    trace: str,
    source: EventSource | None = None,
    group: tuple[str, str] | None = None,
) -> ArrivalSummary | None:
    """Arrival count, span and gap moments; None when there are no timed arrivals.

    When the timestamps are batched (st.effective_tick) the batch period becomes the
    resolution every measure respects. A group keeps its trace's period: the clock is the
    trace's, and a group's own gaps (zero or several batches) would hide it.
    """
    src = source or event_source(db, trace)
    if src is None:
        return None
    info = db.info(trace)
    params = src.params(trace, group)
    r = float(info.time_resolution_s or 1e-6)
    if not src.counts_only:
        params["tie_s"] = r / 2
    row = db.query(src.query("summary"), **params).row(0, named=True)
    if not row["events"] or row["first_s"] is None:
        return None
    gaps: dict[str, Any] = {}
    declared = r
    if src.counts_only:  # the clock is the series interval; counts have no gaps
        r = declared = float(row["interval_max_s"] or info.time_resolution_s or 60.0)
    else:
        gaps = {
            "gaps": int(row["gaps"]),
            "gap_mean": row["gap_mean"],
            "gap_std": row["gap_std"],
            "ties": int(row["ties"]),
        }
        if group is None:
            batch = _batch_period(db, trace, src, gaps["gaps"], gaps["ties"], declared)
        else:
            whole = arrival_summary(db, trace, src)
            batch = whole.batch_s if whole is not None else None
        gaps["batch_s"] = batch
        r = max(declared, batch or 0.0)
    return ArrivalSummary(
        events=float(row["events"]),
        first_s=float(row["first_s"]),
        span_s=float(row["last_s"]) - float(row["first_s"]) + r,
        resolution_s=r,
        declared_resolution_s=declared,
        **gaps,
    )


def _batch_period(
    db: LakeDB, trace: str, src: EventSource, gaps: int, ties: int, declared_s: float
) -> float | None:
    """The batch period of a batched log (st.effective_tick), else None.

    Only a trace whose ties are most of its gaps can be batched: the others cost no query.
    """
    if gaps < 2 or ties < st.BATCH_TIE_SHARE * gaps:
        return None
    step = max(1, math.ceil(gaps / FIT_SAMPLE))
    df = db.query(src.query("gaps"), step=step, **src.params(trace))
    return st.effective_tick(df["gap"].cast(pl.Float64).to_numpy(), declared_s)


def _complete(span_s: float, bin_s: float) -> int:
    """Whole bins of `bin_s` in the span (a partial last bin would read as a lull)."""
    return math.floor(span_s / bin_s + 1e-9)


def _bin_query(
    db: LakeDB,
    what: str,
    trace: str,
    summary: ArrivalSummary,
    bin_s: float,
    bins: int,
    source: EventSource,
    group: tuple[str, str] | None,
) -> pl.DataFrame:
    """The `bins` or `moments` query over `bins` bins of `bin_s` from the first arrival."""
    return db.query(
        source.query(what),
        t0=summary.first_s,
        bin_s=bin_s,
        bins=bins,
        half_tick=summary.half_tick,
        **source.params(trace, group),
    )


def binned_counts(
    db: LakeDB,
    trace: str,
    summary: ArrivalSummary,
    bin_s: float,
    source: EventSource,
    group: tuple[str, str] | None = None,
) -> np.ndarray:
    """Arrivals per bin of `bin_s` from the first arrival, every complete bin, zeros included."""
    bins = _complete(summary.span_s, bin_s)
    counts = np.zeros(bins, dtype=np.float64)
    if bins == 0:
        return counts
    df = _bin_query(db, "bins", trace, summary, bin_s, bins, source, group)
    if df.height:
        counts[df["bin"].cast(pl.Int64).to_numpy()] = df["events"].cast(pl.Float64).to_numpy()
    return counts


def fine_idc(
    db: LakeDB,
    trace: str,
    summary: ArrivalSummary,
    windows_s: list[float],
    source: EventSource,
    group: tuple[str, str] | None = None,
) -> dict[float, tuple[float, int]]:
    """IDC at windows too fine to count bin by bin in Python, from the sum and sum of squares
    of counts in SQL, all windows in one query: window -> (idc, complete windows), for the
    windows with at least MIN_WINDOWS of them."""
    bins = {w: _complete(summary.span_s, w) for w in windows_s}
    wanted = [w for w in windows_s if bins[w] >= MIN_WINDOWS]
    if not wanted:
        return {}
    df = db.query(
        source.query("fine_moments"),
        windows=wanted,
        t0=summary.first_s,
        half_tick=summary.half_tick,
        span_s=summary.span_s,
        slack=1e-9,  # as in _complete
        **source.params(trace, group),
    )
    sums = {float(r["w"]): (r["total"], r["total_sq"]) for r in df.iter_rows(named=True)}
    out = {}
    for w in wanted:
        total, total_sq = sums.get(w, (0, 0))
        out[w] = st.idc_from_moments(float(total or 0), float(total_sq or 0), bins[w]), bins[w]
    return out


def interarrival_sample(
    db: LakeDB,
    trace: str,
    summary: ArrivalSummary,
    source: EventSource,
    group: tuple[str, str] | None = None,
    max_n: int = FIT_SAMPLE,
) -> np.ndarray:
    """Every k-th gap in arrival order, at most `max_n` of them (deterministic)."""
    if source.counts_only or summary.gaps == 0:
        return np.array([], dtype=np.float64)
    step = max(1, math.ceil(summary.gaps / max_n))
    df = db.query(source.query("gaps"), step=step, **source.params(trace, group))
    return df["gap"].cast(pl.Float64).to_numpy()


def top_groups(
    db: LakeDB, trace: str, k: int = TOP_GROUPS, source: EventSource | None = None
) -> pl.DataFrame:
    """The k groups with most arrivals per grouping column (dim, group, events, share, ...)."""
    src = source or event_source(db, trace)
    if src is None:
        return pl.DataFrame()
    df = db.query(src.query("groups"), k=k, **src.scope(trace))
    return df.with_columns(
        share=pl.col("events").cast(pl.Float64) / pl.col("dim_events").cast(pl.Float64)
    ).rename({"grp": "group"})


# ---------------------------------------------------------------- windows and bins


def _snap(w: float, floor: float) -> float:
    """w as a whole number of clock ticks (so bins never split a tick)."""
    return max(1, round(w / floor)) * floor


def idc_windows(resolution_s: float, span_s: float) -> list[float]:
    """Windows from the clock (>= 1 ms) to 1 h or a tenth of the span, in whole ticks."""
    floor = max(resolution_s, MIN_RESOLUTION_S)
    top = min(WINDOWS_S[-1], span_s / MIN_WINDOWS)
    out = {_snap(w, floor) for w in WINDOWS_S if w >= floor * (1 - 1e-9)}
    if WINDOWS_S[0] < floor:
        out.add(floor)
    return sorted(w for w in out if w <= top * (1 + 1e-9))


def base_bin(resolution_s: float, span_s: float, windows: list[float]) -> float:
    """The finest bin (the clock floor or an IDC window) whose counts fit in MAX_BINS."""
    floor = max(resolution_s, MIN_RESOLUTION_S)
    for b in sorted({floor, *windows}):
        if span_s / b <= MAX_BINS:
            return b
    return math.ceil(span_s / MAX_BINS / floor) * floor


def rate_bin(resolution_s: float, span_s: float) -> float:
    """The finest round bin (1 s, 10 s, 1 min, ...) that gives at most MAX_RATE_POINTS."""
    floor = max(resolution_s, MIN_RESOLUTION_S)
    for b in RATE_BINS_S:
        if b >= floor * (1 - 1e-9) and span_s / b <= MAX_RATE_POINTS:
            return _snap(b, floor)
    return math.ceil(span_s / MAX_RATE_POINTS / floor) * floor


def _multiple(w: float, b: float) -> int:
    k = round(w / b)
    return k if k >= 1 and math.isclose(k * b, w, rel_tol=1e-9) else 0


def _reduce(counts: np.ndarray, limit: int) -> tuple[np.ndarray, int]:
    """Counts summed over a round number of bins (1, 2, 5, 10, 20, ...) to at most `limit`."""
    need = counts.size / limit
    factor, step = 1, 0
    while factor < need:
        step += 1
        factor = (1, 2, 5)[step % 3] * 10 ** (step // 3)
    return (st.aggregate(counts, factor) if factor > 1 else counts), factor


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Burstiness:
    """Burstiness of one trace, or of one (dim, value) group of it, measured from its own
    first to its last arrival.

    A statistic that cannot be computed is NaN (Hurst of constant counts, CV of a counts-only
    series) or absent (an IDC window with fewer than MIN_WINDOWS windows).
    """

    trace: str
    source: EventSource
    group: tuple[str, str] | None  # (dim, value), or None for the whole trace
    summary: ArrivalSummary
    time_origin: str = "absolute"  # absolute | relative (anchored at 1970-01-01)
    idc: dict[float, float] = field(default_factory=dict)  # window (s) -> variance/mean of counts
    idc_windows: dict[float, int] = field(default_factory=dict)  # window (s) -> complete windows
    hurst_aggregated_variance: float = math.nan  # Hurst exponent, aggregated-variance estimator
    hurst_rescaled_range: float = math.nan  # Hurst exponent, R/S estimator
    hurst_bin_s: float = math.nan  # width of the counts both Hurst estimators see (s)
    hurst_undefined: str | None = None  # why a Hurst estimate is NaN, None when both exist
    base_bin_s: float = math.nan  # finest bin counted (s)
    periodicity: st.Periodicity | None = None
    fits: st.FitReport | None = None  # inter-arrival fits (None for counts-only series)
    iat_cv: float = math.nan  # inter-arrival CV (sd / mean of gaps); NaN for counts-only series
    gaps: np.ndarray = field(
        default_factory=lambda: np.array([], dtype=np.float64)
    )  # fit sample (s)
    rate: pl.DataFrame = field(default_factory=pl.DataFrame)  # start, offset_s, events, rate_per_s
    acf: pl.DataFrame = field(default_factory=pl.DataFrame)  # lag_s, acf of counts

    @property
    def resolution_s(self) -> float:
        return self.summary.resolution_s

    @property
    def rate_bin_s(self) -> float | None:
        """Width of the rate-over-time bins (s); None with fewer than two bins."""
        return float(self.rate["offset_s"][1]) if self.rate.height > 1 else None


@dataclass(frozen=True)
class BurstinessResult:
    """Burstiness of one trace and of its largest groups.

    `groups`: grouping column (service, tenant, job_type) -> group name -> its burstiness,
    the TOP_GROUPS largest of each column with two groups or more and MIN_EVENTS arrivals.
    """

    overall: Burstiness
    groups: dict[str, dict[str, Burstiness]]

    @property
    def trace(self) -> str:
        return self.overall.trace

    @property
    def events(self) -> int:
        """Arrivals (or summed invocations of a counts-only series)."""
        return round(self.overall.summary.events)

    @property
    def rate_per_s(self) -> float:
        """Mean arrival rate over the span, per second."""
        return self.overall.summary.rate_per_s


def analyze(
    db: LakeDB,
    trace: str,
    group: tuple[str, str] | None = None,
    source: EventSource | None = None,
    fit_sample: int = FIT_SAMPLE,
    rate_bin_s: float | None = None,
    fine_windows: bool = True,
    censored_sample: int = st.CENSORED_SAMPLE,
    fits: bool = True,
) -> Burstiness | None:
    """Every burstiness statistic of one trace, or of one (dim, value) group of it.

    None when the trace has no timed arrivals or fewer than MIN_EVENTS. `fine_windows=False`
    skips IDC windows finer than the base bin (one SQL pass), for bounded group runs.
    `fits=False` skips the inter-arrival sample and its fits (a sorting pass and the slowest
    Python step): `fits` is then None and `gaps` empty; every other field is the same.
    """
    src = source or event_source(db, trace)
    if src is None:
        return None
    summary = arrival_summary(db, trace, src, group)
    if summary is None or summary.events < MIN_EVENTS:
        return None
    windows = idc_windows(summary.resolution_s, summary.span_s)
    b = base_bin(summary.resolution_s, summary.span_s, windows)
    counts = binned_counts(db, trace, summary, b, src, group)

    idc: dict[float, float] = {}
    idc_n: dict[float, int] = {}
    fine = [w for w in windows if not _multiple(w, b) and w < b] if fine_windows else []
    fine_values = fine_idc(db, trace, summary, fine, src, group) if fine else {}
    for w in windows:
        k = _multiple(w, b)
        if k:
            agg = st.aggregate(counts, k)
            if agg.size >= MIN_WINDOWS:
                idc[w] = st.idc(agg)
                idc_n[w] = int(agg.size)
        elif w in fine_values:
            idc[w], idc_n[w] = fine_values[w]

    hurst_counts, hurst_factor = _reduce(counts, HURST_BINS)
    hurst_av = st.hurst_aggregated_variance(hurst_counts)
    hurst_rs = st.hurst_rescaled_range(hurst_counts)
    period_counts, factor = _reduce(counts, PERIOD_BINS)
    lags = st.acf(period_counts, period_counts.size // 2)
    step = max(1, math.ceil(lags.size / ACF_POINTS))
    idx = np.arange(0, lags.size, step)

    rb = rate_bin_s or rate_bin(summary.resolution_s, summary.span_s)
    k = _multiple(rb, b)
    rate_counts = (
        st.aggregate(counts, k) if k else binned_counts(db, trace, summary, rb, src, group)
    )

    iat_cv, gaps, fitted = math.nan, np.array([], dtype=np.float64), None
    if not src.counts_only and summary.gaps >= 2:
        iat_cv = st.cv_from_moments(summary.gaps, summary.gap_mean, summary.gap_std)
        if fits:
            gaps = interarrival_sample(db, trace, summary, src, group, fit_sample)
            fitted = st.fit_interarrivals(gaps, summary.resolution_s, censored_sample)
    return Burstiness(
        trace=trace,
        source=src,
        group=group,
        summary=summary,
        time_origin=db.info(trace).time_origin,
        idc=idc,
        idc_windows=idc_n,
        hurst_aggregated_variance=hurst_av,
        hurst_rescaled_range=hurst_rs,
        hurst_bin_s=b * hurst_factor,
        hurst_undefined=_hurst_undefined(hurst_counts, hurst_av, hurst_rs),
        base_bin_s=b,
        periodicity=st.periodicity(period_counts, b * factor),
        fits=fitted,
        iat_cv=iat_cv,
        gaps=gaps,
        rate=_rate_table(summary.first_s, rb, rate_counts),
        acf=pl.DataFrame({"lag_s": idx * b * factor, "acf": lags[idx]}),
    )


def _hurst_undefined(counts: np.ndarray, av: float, rs: float) -> str | None:
    if math.isfinite(av) and math.isfinite(rs):
        return None
    if counts.size < 2 or float(np.std(counts)) == 0.0:
        return "constant counts (no variance)"
    if any(float(np.std(st.aggregate(counts, m))) == 0.0 for m in range(2, 33)):
        return "counts repeat exactly (a constant rate slower than the bins)"
    if counts.size < 256:  # R/S needs three block sizes from 16 bins, each at least 4 times
        return f"only {counts.size} bins of counts"
    return "too little variation of counts across block sizes"


def _rate_table(first_s: float, bin_s: float, counts: np.ndarray) -> pl.DataFrame:
    offset = np.arange(counts.size) * bin_s
    start = datetime.fromtimestamp(0, UTC) + timedelta(seconds=first_s)
    return pl.DataFrame(
        {
            "start": [start + timedelta(seconds=float(o)) for o in offset],
            "offset_s": offset,
            "events": counts,
            "rate_per_s": counts / bin_s,
        },
        schema={
            "start": pl.Datetime("us", "UTC"),
            "offset_s": pl.Float64,
            "events": pl.Float64,
            "rate_per_s": pl.Float64,
        },
    )


def by_group(
    db: LakeDB,
    trace: str,
    source: EventSource,
    k: int = TOP_GROUPS,
    rate_bin_s: float | None = None,
) -> dict[str, dict[str, Burstiness]]:
    """Burstiness of the k largest groups of each grouping column with two groups or more.

    {dim: {group name: Burstiness}}; groups with fewer than MIN_EVENTS arrivals are left out.
    """
    groups = top_groups(db, trace, k, source)
    out: dict[str, dict[str, Burstiness]] = {}
    if groups.is_empty():
        return out
    for row in groups.iter_rows(named=True):
        if row["groups"] < 2:
            continue
        result = analyze(
            db,
            trace,
            group=(row["dim"], row["group"]),
            source=source,
            fit_sample=GROUP_FIT_SAMPLE,
            rate_bin_s=rate_bin_s,
            fine_windows=False,
            censored_sample=GROUP_CENSORED_SAMPLE,
        )
        if result is not None:
            out.setdefault(row["dim"], {})[row["group"]] = result
    return out


def idc_verdicts(result: Burstiness) -> dict[float, str]:
    """Per window: 'above', 'poisson' or 'below' Poisson.

    Outside Poisson means beyond a 3-sigma sampling band around 1 and beyond IDC_MARGIN.
    """
    out = {}
    for w, value in sorted(result.idc.items()):
        if not math.isfinite(value):
            continue
        mean = result.summary.events / max(result.summary.span_s / w, 1.0)
        band = max(st.poisson_idc_band(result.idc_windows[w], mean), IDC_MARGIN)
        out[w] = "above" if value > 1 + band else "below" if value < 1 - band else "poisson"
    return out


def compute(
    db: LakeDB, trace: str, groups: bool = True, fits: bool = True
) -> BurstinessResult | None:
    """Burstiness of one trace and of its largest groups; None without at least MIN_EVENTS
    timed arrivals.

    `groups=False, fits=False` is the trace alone without its inter-arrival fits (no groups,
    `fits` None): what a comparison of traces reads, at a fraction of the cost.
    """
    src = event_source(db, trace)
    if src is None:
        return None
    overall = analyze(db, trace, source=src, fits=fits)
    if overall is None:
        return None
    parts = by_group(db, trace, src, rate_bin_s=overall.rate_bin_s) if groups else {}
    return BurstinessResult(overall, parts)


def compute_group(db: LakeDB, trace: str, group: tuple[str, str]) -> Burstiness | None:
    """Burstiness of one (dim, value) group of a trace (a service, tenant or job type), from
    the group's own first to last arrival; None without MIN_EVENTS timed arrivals."""
    src = event_source(db, trace)
    if src is None:
        return None
    return analyze(db, trace, group=group, source=src)
