"""Arrivals and burstiness: rate over time, inter-arrival CV, IDC curve, Hurst, periods, fits.

Events are request arrivals (requests.ts), job submissions (jobs.submit_ts) or, for traces
released as per-interval counts (Azure Functions 2019), the `invocations` series; the first of
these a trace has is analysed. Everything that touches rows runs in DuckDB: the same queries
serve requests and jobs through the `arrivals` view (analysis/queries/burstiness_*.sql), the
series have their own (burstiness_series_*.sql). Python receives one row of moments, counts per
bin (at most MAX_BINS of them) and a systematic sample of at most FIT_SAMPLE gaps, so a trace
of any size costs a few scans. The statistics themselves are in `analysis.arrival_stats`.

Time resolution is respected throughout: no window, bin or period is finer than the trace's
clock (and never finer than 1 ms), gaps shorter than a few ticks are fitted as intervals, not
as numbers, and counts-only series get count-based measures only (no gaps, CV or fits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from analysis import arrival_stats as st
from analysis.db import LakeDB
from analysis.section import Section

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
# A best fit whose KS distance exceeds this is reported as the best of poor fits.
POOR_KS = 0.1
CCDF_POINTS = 300
# The lags behind each cycle check, in words (see arrival_stats.CYCLES).
CYCLE_LAGS = {"daily": ("24 h", "12 h"), "weekly": ("7 d", "3-4 d")}
# Hurst above this by both estimators is reported as long-range dependence: simulated Poisson
# arrivals scatter by ~0.02 around 0.5 (see the property tests).
LRD_HURST = 0.6


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


@dataclass
class ArrivalSummary:
    """Counts and span of one trace's (or one group's) arrivals, from one SQL aggregate."""

    events: float  # arrivals, or summed invocations for counts
    first_s: float  # epoch seconds of the first arrival (or first interval start)
    span_s: float  # first arrival to last, plus one clock tick (or one interval)
    resolution_s: float  # clock resolution, or the series interval
    gaps: int = 0
    gap_mean: float | None = None
    gap_std: float | None = None
    ties: int = 0  # gaps under half a tick: two arrivals read in the same tick

    @property
    def rate_per_s(self) -> float:
        return self.events / self.span_s if self.span_s > 0 else math.nan

    @property
    def half_tick(self) -> float:
        return self.resolution_s / 2


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
    """Arrival count, span and gap moments; None when there are no timed arrivals."""
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
    if src.counts_only:  # the clock is the series interval; counts have no gaps
        r = float(row["interval_max_s"] or info.time_resolution_s or 60.0)
    else:
        gaps = {
            "gaps": int(row["gaps"]),
            "gap_mean": row["gap_mean"],
            "gap_std": row["gap_std"],
            "ties": int(row["ties"]),
        }
    return ArrivalSummary(
        events=float(row["events"]),
        first_s=float(row["first_s"]),
        span_s=float(row["last_s"]) - float(row["first_s"]) + r,
        resolution_s=r,
        **gaps,
    )


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


def count_moments_idc(
    db: LakeDB,
    trace: str,
    summary: ArrivalSummary,
    window_s: float,
    source: EventSource,
    group: tuple[str, str] | None = None,
) -> tuple[float, int]:
    """IDC at one window from the sum and sum of squares of counts in SQL: (idc, windows)."""
    bins = _complete(summary.span_s, window_s)
    if bins < MIN_WINDOWS:
        return math.nan, bins
    row = _bin_query(db, "moments", trace, summary, window_s, bins, source, group).row(
        0, named=True
    )
    return st.idc_from_moments(float(row["total"] or 0), float(row["total_sq"] or 0), bins), bins


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


# ---------------------------------------------------------------- analysis


@dataclass
class Burstiness:
    """Burstiness of one trace or one group of it. `numbers()` is the JSON of the section."""

    trace: str
    source: EventSource
    group: tuple[str, str] | None
    summary: ArrivalSummary
    time_origin: str = "absolute"
    idc: dict[float, float] = field(default_factory=dict)
    idc_windows: dict[float, int] = field(default_factory=dict)  # complete windows per size
    hurst_aggregated_variance: float = math.nan
    hurst_rescaled_range: float = math.nan
    hurst_bin_s: float = math.nan
    base_bin_s: float = math.nan
    periodicity: st.Periodicity | None = None
    fits: st.FitReport | None = None
    iat_cv: float = math.nan
    gaps: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    rate: pl.DataFrame = field(default_factory=pl.DataFrame)
    acf: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def resolution_s(self) -> float:
        return self.summary.resolution_s

    def numbers(self) -> dict[str, Any]:
        s = self.summary
        out: dict[str, Any] = {
            "source": self.source.label,
            "events": round(s.events),
            "span_s": s.span_s,
            "rate_per_s": s.rate_per_s,
            "resolution_s": s.resolution_s,
            "idc": {_key(w): v for w, v in sorted(self.idc.items())},
            "hurst": {
                "aggregated_variance": self.hurst_aggregated_variance,
                "rescaled_range": self.hurst_rescaled_range,
            },
            "hurst_bin_s": self.hurst_bin_s,
        }
        if self.periodicity is not None:
            out["periodicity"] = self.periodicity.numbers()
        if self.source.counts_only:
            out["counts_only"] = True
            return _rounded(out)
        out["iat_cv"] = self.iat_cv
        out["gap_mean_s"] = s.gap_mean
        out["tied_gaps_share"] = s.ties / s.gaps if s.gaps else None
        if self.fits is not None:
            if self.fits.best is not None:
                out["best_fit"] = self.fits.best
                out["fits"] = {k: f.numbers() for k, f in sorted(self.fits.fits.items())}
            out["fit_sample"] = self.fits.sample
            out["fit_method"] = self.fits.method
            if self.fits.censored:
                out["fit_censored"] = self.fits.censored
            if self.fits.refused:
                out["fit_refused"] = self.fits.refused
        return _rounded(out)


def _key(w: float) -> str:
    return f"{w:g}"


def _rounded(value: Any, digits: int = 6) -> Any:
    """Floats to `digits` significant digits: parallel float sums in DuckDB may differ in the
    last bits between runs, and the report must not."""
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v, digits) for v in value]
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v) or v == 0:
            return v if math.isfinite(v) else None
        return round(v, digits - 1 - math.floor(math.log10(abs(v))))
    return value


def analyze(
    db: LakeDB,
    trace: str,
    group: tuple[str, str] | None = None,
    source: EventSource | None = None,
    fit_sample: int = FIT_SAMPLE,
    rate_bin_s: float | None = None,
    fine_windows: bool = True,
    censored_sample: int = st.CENSORED_SAMPLE,
) -> Burstiness | None:
    """Every burstiness statistic of one trace, or of one (dim, value) group of it.

    None when the trace has no timed arrivals or fewer than MIN_EVENTS. `fine_windows=False`
    skips IDC windows finer than the base bin (one SQL pass each), for bounded group runs.
    """
    src = source or event_source(db, trace)
    if src is None:
        return None
    summary = arrival_summary(db, trace, src, group)
    if summary is None or summary.events < MIN_EVENTS:
        return None
    out = Burstiness(
        trace=trace,
        source=src,
        group=group,
        summary=summary,
        time_origin=db.info(trace).time_origin,
    )
    windows = idc_windows(summary.resolution_s, summary.span_s)
    b = base_bin(summary.resolution_s, summary.span_s, windows)
    out.base_bin_s = b
    counts = binned_counts(db, trace, summary, b, src, group)

    for w in windows:
        k = _multiple(w, b)
        if k:
            agg = st.aggregate(counts, k)
            if agg.size >= MIN_WINDOWS:
                out.idc[w] = st.idc(agg)
                out.idc_windows[w] = int(agg.size)
        elif w < b and fine_windows:
            value, n = count_moments_idc(db, trace, summary, w, src, group)
            if n >= MIN_WINDOWS:
                out.idc[w] = value
                out.idc_windows[w] = n

    hurst_counts, factor = _reduce(counts, HURST_BINS)
    out.hurst_bin_s = b * factor
    out.hurst_aggregated_variance = st.hurst_aggregated_variance(hurst_counts)
    out.hurst_rescaled_range = st.hurst_rescaled_range(hurst_counts)

    period_counts, factor = _reduce(counts, PERIOD_BINS)
    out.periodicity = st.periodicity(period_counts, b * factor)
    lags = st.acf(period_counts, period_counts.size // 2)
    step = max(1, math.ceil(lags.size / ACF_POINTS))
    idx = np.arange(0, lags.size, step)
    out.acf = pl.DataFrame({"lag_s": idx * b * factor, "acf": lags[idx]})

    rb = rate_bin_s or rate_bin(summary.resolution_s, summary.span_s)
    k = _multiple(rb, b)
    rate_counts = (
        st.aggregate(counts, k) if k else binned_counts(db, trace, summary, rb, src, group)
    )
    out.rate = _rate_table(summary.first_s, rb, rate_counts)
    del counts

    if not src.counts_only and summary.gaps >= 2:
        out.iat_cv = st.cv_from_moments(summary.gaps, summary.gap_mean, summary.gap_std)
        out.gaps = interarrival_sample(db, trace, summary, src, group, fit_sample)
        out.fits = st.fit_interarrivals(out.gaps, summary.resolution_s, censored_sample)
    return out


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


# ---------------------------------------------------------------- words


def human_s(seconds: float) -> str:
    """1 ms, 10 s, 1 min, 1 h, 2 d: window and span lengths as a reader says them."""
    s = float(seconds)
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0), ("ms", 1e-3)):
        if s >= size * (1 - 1e-9) or unit == "ms":
            v = s / size
            text = f"{v:.0f}" if math.isclose(v, round(v), rel_tol=1e-6) else f"{v:.3g}"
            return f"{text} {unit}"
    return f"{s:g} s"  # pragma: no cover


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


_VERDICT_WORDS = {
    "above": "are burstier than Poisson",
    "poisson": "look Poisson",
    "below": "are more regular than Poisson",
}


def _idc_finding(result: Burstiness) -> str | None:
    """The IDC curve in words: runs of windows above, at or below Poisson, one quoted value."""
    verdicts = idc_verdicts(result)
    if not verdicts:
        return None
    ws = sorted(verdicts)
    quote_w = 60.0 if 60.0 in verdicts else ws[len(ws) // 2]
    quote = f"IDC {result.idc[quote_w]:.3g} at {human_s(quote_w)}"
    what = "invocation counts" if result.source.counts_only else "arrivals"
    runs: list[tuple[str, list[float]]] = []
    for w in ws:
        if runs and runs[-1][0] == verdicts[w]:
            runs[-1][1].append(w)
        else:
            runs.append((verdicts[w], [w]))
    if len(runs) == 1:
        verdict, run = runs[0]
        where = f"at every window from {human_s(run[0])} to {human_s(run[-1])}"
        if len(run) == 1:
            where = f"at the one window that fits, {human_s(run[0])}"
        return f"{what} {_VERDICT_WORDS[verdict]} {where} ({quote})"
    phrases = []
    for verdict, run in runs:
        where = (
            f"at {human_s(run[0])}"
            if len(run) == 1
            else f"from {human_s(run[0])} to {human_s(run[-1])}"
        )
        phrases.append(f"{_VERDICT_WORDS[verdict]} {where}")
    return f"{what} {', '.join(phrases[:-1])} and {phrases[-1]} ({quote})"


def _fit_finding(result: Burstiness) -> str | None:
    if result.source.counts_only or not math.isfinite(result.iat_cv):
        return None
    s = result.summary
    text = f"inter-arrival CV is {result.iat_cv:.3g} (Poisson: 1)"
    tied = s.ties / s.gaps if s.gaps else 0.0
    if tied >= 0.2:
        clock = human_s(max(s.resolution_s, MIN_RESOLUTION_S))
        text += (
            f"; {tied:.0%} of gaps are zero at the {clock} clock "
            f"({1 / (1 - tied):.3g} arrivals per distinct timestamp on average)"
            if tied < 1
            else f"; every gap is zero at the {clock} clock"
        )
    fits = result.fits
    if fits is not None and fits.best is not None:
        best = fits.fits[fits.best]
        poor = "the best of poor fits" if best.ks > POOR_KS else "the best fit"
        text += f"; {fits.best} is {poor} to the gaps by AIC (KS {best.ks:.3f})"
    elif fits is not None and fits.refused:
        text += "; no distribution fitted: " + fits.refused
    return text


def _hurst_finding(result: Burstiness) -> str | None:
    av, rs = result.hurst_aggregated_variance, result.hurst_rescaled_range
    if not (math.isfinite(av) and math.isfinite(rs)):
        return None
    text = (
        f"Hurst exponent {av:.2f} (aggregated variance) and {rs:.2f} (R/S) on "
        f"{human_s(result.hurst_bin_s)} counts"
    )
    if av > LRD_HURST and rs > LRD_HURST:
        return text + ": long-range dependent, or a rate that drifts over the trace"
    if av < LRD_HURST and rs < LRD_HURST:
        return text + ": no sign of long-range dependence"
    return text + ": the two estimators disagree on long-range dependence"


def _period_finding(result: Burstiness) -> str | None:
    p = result.periodicity
    if p is None:
        return None
    cycles = [(n, c) for n, c in p.cycles.items() if isinstance(c, dict)]
    if not cycles:
        return (
            f"the {human_s(result.summary.span_s)} span is too short to check daily or weekly "
            "cycles (two full periods needed)"
        )
    parts = []
    for name, c in cycles:
        lag, reference = CYCLE_LAGS[name]
        state = "a" if c["detected"] else "no clear"
        parts.append(
            f"{state} {name} cycle (ACF {c['acf']:.2f} at {lag}, "
            f"{c['acf_reference']:.2f} at {reference})"
        )
    text = " and ".join(parts)
    if p.cycles.get("weekly") == "span too short":
        text += f"; the {human_s(result.summary.span_s)} span is too short for a weekly check"
    return text


# ---------------------------------------------------------------- figures


def _absolute(result: Burstiness) -> bool:
    return result.time_origin == "absolute"  # relative traces start at 1970-01-01


def _x(result: Burstiness, part: Burstiness) -> list[Any]:
    """Bin starts of `part`'s rate: UTC times, or hours since the trace's first arrival."""
    if _absolute(result):
        return part.rate["start"].to_list()
    shift = part.summary.first_s - result.summary.first_s
    return ((part.rate["offset_s"] + shift) / 3600.0).to_list()


def _label(name: str) -> str:
    return name if len(name) <= 16 else name[:12] + "…"


def _figures(result: Burstiness, groups: dict[str, dict[str, Burstiness]]) -> list[go.Figure]:
    figs = []
    main_dim = next(iter(groups), None)
    rb = float(result.rate["offset_s"][1]) if result.rate.height > 1 else 0.0
    fig = go.Figure()
    rate = result.rate["rate_per_s"].to_list()
    fig.add_trace(go.Scatter(x=_x(result, result), y=rate, name="all", mode="lines"))
    if main_dim:
        for name, g in groups[main_dim].items():
            y = g.rate["rate_per_s"].to_list()
            fig.add_trace(go.Scatter(x=_x(result, g), y=y, name=_label(name), mode="lines"))
    fig.update_layout(
        title=f"{result.trace}: arrival rate ({human_s(rb)} bins)" if rb else result.trace,
        xaxis_title="time (UTC)" if _absolute(result) else "hours since the first arrival",
        yaxis_title=f"{'invocations' if result.source.counts_only else 'arrivals'} per second",
        legend_title_text=main_dim or "",
        template="plotly_white",
    )
    figs.append(fig)

    if result.idc:
        fig = go.Figure()
        ws = sorted(result.idc)
        parts = [("all", result)]
        if main_dim:
            parts += [(_label(name), g) for name, g in groups[main_dim].items()]
        for name, part in parts:
            gw = sorted(part.idc)
            # a perfectly regular series has IDC 0, which a log axis cannot show
            y = [part.idc[w] if part.idc[w] > 0 else None for w in gw]
            fig.add_trace(go.Scatter(x=gw, y=y, name=name, mode="lines+markers"))
        fig.add_trace(
            go.Scatter(
                x=[ws[0], ws[-1]],
                y=[1.0, 1.0],
                mode="lines",
                line={"dash": "dash", "color": "grey"},
                name="Poisson (IDC 1)",
            )
        )
        fig.update_layout(
            title=f"{result.trace}: index of dispersion of counts",
            xaxis_title="window (s)",
            yaxis_title="IDC = variance / mean of counts",
            legend_title_text=main_dim or "",
            xaxis_type="log",
            yaxis_type="log",
            template="plotly_white",
        )
        figs.append(fig)

    if result.fits is not None and result.fits.fits and result.gaps.size:
        figs.append(_ccdf_figure(result))

    if result.acf.height > 2:
        fig = go.Figure()
        lag_h = (result.acf["lag_s"] / 3600.0).to_list()
        fig.add_trace(go.Scatter(x=lag_h, y=result.acf["acf"].to_list(), mode="lines", name="ACF"))
        for hours in (24.0, 168.0):
            if lag_h and lag_h[-1] >= hours:
                fig.add_vline(x=hours, line_dash="dot", annotation_text=human_s(hours * 3600))
        fig.update_layout(
            title=f"{result.trace}: autocorrelation of counts "
            f"({human_s(result.periodicity.bin_s) if result.periodicity else ''} bins)",
            xaxis_title="lag (hours)",
            yaxis_title="autocorrelation",
            template="plotly_white",
        )
        figs.append(fig)
    return figs


def _ccdf_figure(result: Burstiness) -> go.Figure:
    """Observed share of gaps longer than x against each model, on a grid log-spaced in x."""
    fits = result.fits
    assert fits is not None
    gaps = np.sort(result.gaps)
    positive = gaps[gaps > 0]
    fig = go.Figure()
    floor = 0.5 / gaps.size  # below one gap in the sample the curves say nothing
    if positive.size:
        lo = max(float(positive[0]), result.resolution_s / 2)
        x = np.geomspace(lo, max(float(positive[-1]), lo), CCDF_POINTS)
        observed = 1.0 - np.searchsorted(gaps, x, side="right") / gaps.size
        keep = observed > 0
        fig.add_trace(
            go.Scatter(
                x=x[keep],
                y=observed[keep],
                mode="lines",
                line={"shape": "hv", "width": 3},
                name=f"observed ({gaps.size:,} gaps)",
            )
        )
        for name, fit in sorted(fits.fits.items()):
            model = fit.frozen().sf(x)
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=np.where(model >= floor, model, np.nan),
                    mode="lines",
                    line={"dash": "solid" if name == fits.best else "dot"},
                    name=f"{name}{' (best by AIC)' if name == fits.best else ''}",
                )
            )
    fig.update_layout(
        title=f"{result.trace}: inter-arrival times against fitted models",
        xaxis_title="gap between arrivals (s)",
        yaxis_title="share of gaps longer (CCDF)",
        xaxis_type="log",
        yaxis_type="log",
        yaxis_range=[math.log10(floor), 0.05],
        template="plotly_white",
    )
    return fig


# ---------------------------------------------------------------- tables


def _idc_table(result: Burstiness, groups: dict[str, dict[str, Burstiness]]) -> pl.DataFrame:
    rows = []
    scopes: list[tuple[str, Burstiness]] = [("all", result)]
    for dim, named in groups.items():
        scopes += [(f"{dim}={name}", g) for name, g in named.items()]
    for scope, r in scopes:
        verdicts = idc_verdicts(r)
        for w in sorted(r.idc):
            rows.append(
                {
                    "scope": scope,
                    "window_s": w,
                    "idc": r.idc[w],
                    "windows": r.idc_windows[w],
                    "vs_poisson": verdicts.get(w),
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "scope": pl.String,
            "window_s": pl.Float64,
            "idc": pl.Float64,
            "windows": pl.Int64,
            "vs_poisson": pl.String,
        },
    )


def _fit_table(fits: st.FitReport) -> pl.DataFrame:
    best_aic = min(f.aic for f in fits.fits.values())
    rows = [
        {
            "model": name,
            "shape": f.params.get("shape"),
            "scale_s": f.params["scale"],
            "ks": f.ks,
            "aic": f.aic,
            "delta_aic": f.aic - best_aic,
        }
        for name, f in sorted(fits.fits.items(), key=lambda kv: kv[1].aic)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "model": pl.String,
            "shape": pl.Float64,
            "scale_s": pl.Float64,
            "ks": pl.Float64,
            "aic": pl.Float64,
            "delta_aic": pl.Float64,
        },
    )


def _group_table(groups: dict[str, dict[str, Burstiness]], total: float) -> pl.DataFrame:
    rows = []
    for dim, named in groups.items():
        for name, g in named.items():
            rows.append(
                {
                    "by": dim,
                    "group": name,
                    "events": round(g.summary.events),
                    "share": g.summary.events / total if total else None,
                    "rate_per_s": g.summary.rate_per_s,
                    "iat_cv": g.iat_cv if math.isfinite(g.iat_cv) else None,
                    "idc_max_window": g.idc[max(g.idc)] if g.idc else None,
                    "hurst_av": g.hurst_aggregated_variance,
                    "hurst_rs": g.hurst_rescaled_range,
                    "best_fit": g.fits.best if g.fits else None,
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "by": pl.String,
            "group": pl.String,
            "events": pl.Int64,
            "share": pl.Float64,
            "rate_per_s": pl.Float64,
            "iat_cv": pl.Float64,
            "idc_max_window": pl.Float64,
            "hurst_av": pl.Float64,
            "hurst_rs": pl.Float64,
            "best_fit": pl.String,
        },
    )


def _group_numbers(g: Burstiness, total: float) -> dict[str, Any]:
    n = g.numbers()
    out = {
        "events": n["events"],
        "share": g.summary.events / total if total else None,
        "rate_per_s": n["rate_per_s"],
        "idc": n["idc"],
        "hurst": n["hurst"],
    }
    for key in ("iat_cv", "best_fit"):
        if key in n:
            out[key] = n[key]
    return _rounded(out)


# ---------------------------------------------------------------- section


def _notes(result: Burstiness, groups: dict[str, dict[str, Burstiness]]) -> list[str]:
    s = result.summary
    r = s.resolution_s
    notes = [f"Arrivals from {result.source.label}."]
    floor = max(r, MIN_RESOLUTION_S)
    if result.source.counts_only:
        notes.append(
            f"The trace records counts per {human_s(r)} interval, not arrival times: only "
            "count-based measures (rate, IDC, Hurst, periods) are reported; inter-arrival CV "
            f"and fits would need timestamps, and no window is shorter than {human_s(r)}."
        )
    elif r >= 1:
        tied = s.ties / s.gaps if s.gaps else 0.0
        notes.append(
            f"Timestamps have {human_s(r)} resolution: no window or period below {human_s(r)} "
            f"is reported; {tied:.1%} of gaps are 0 s, arrivals read in the same clock tick "
            "(not simultaneous ones)."
        )
    elif r < MIN_RESOLUTION_S:
        notes.append(
            f"Timestamps have {r:g} s resolution; windows start at the {human_s(floor)} floor."
        )
    fits = result.fits
    if fits is not None and fits.method == "interval-censored":
        notes.append(
            f"Inter-arrival fits: maximum likelihood with location 0 on {fits.sample:,} gaps "
            f"sampled every k-th in arrival order; {fits.censored:,} gaps shorter than "
            f"{st.EXACT_TICKS} clock ticks were fitted as intervals of +-half a tick "
            "(interval-censored MLE), and KS compares the model with the empirical CDF at those "
            "tick edges."
        )
    elif fits is not None and fits.method == "exact":
        notes.append(
            f"Inter-arrival fits: maximum likelihood with location 0 on {fits.sample:,} gaps "
            "sampled every k-th in arrival order; best model = lowest AIC."
        )
    if (
        not result.source.counts_only
        and s.gap_mean is not None
        and r >= MIN_RESOLUTION_S
        and s.gap_mean < 10 * r
    ):
        notes.append(
            f"The mean gap ({s.gap_mean:.3g} s) is under 10 clock ticks: the CV includes the "
            "clock's rounding."
        )
    missing = [w for w in idc_windows(r, s.span_s) if w not in result.idc]
    if missing:
        notes.append(
            "IDC not computed at "
            + ", ".join(human_s(w) for w in missing)
            + " (fewer than 10 windows or empty counts)."
        )
    if groups:
        parts = [g for named in groups.values() for g in named.values()]
        finest = min((min(g.idc) for g in parts if g.idc), default=None)
        text = (
            f"Groups are the {TOP_GROUPS} largest per column, each measured from its own first "
            "to its last arrival"
        )
        if finest is not None:
            text += f"; their IDC starts at {human_s(finest)}"
        if any(g.fits and g.fits.censored for g in parts):
            text += f"; their clock-censored fits use at most {GROUP_CENSORED_SAMPLE:,} gaps each"
        notes.append(text + ".")
    notes.append(
        "IDC and Hurst are computed over the whole span: a rate that drifts (daily cycles, "
        "growth) raises both, as true burstiness does."
    )
    return notes


def _findings(result: Burstiness) -> list[str]:
    found = [
        f
        for f in (
            _idc_finding(result),
            _fit_finding(result),
            _hurst_finding(result),
            _period_finding(result),
        )
        if f
    ]
    return [f[0].upper() + f[1:] + "." for f in found]


def group_section(db: LakeDB, trace: str, group: tuple[str, str]) -> Section | None:
    """`section` for one (dim, value) group of a trace (a service, tenant or job type), measured
    from the group's own first to last arrival; None without MIN_EVENTS timed arrivals."""
    src = event_source(db, trace)
    if src is None:
        return None
    result = analyze(db, trace, group=group, source=src)
    if result is None:
        return None
    tables: dict[str, pl.DataFrame] = {
        "Index of dispersion by window": _idc_table(result, {}),
        "Arrival rate over time": result.rate,
    }
    if result.fits is not None and result.fits.fits:
        tables["Inter-arrival fits"] = _fit_table(result.fits)
    return Section(
        key="burstiness",
        title=f"Arrivals and burstiness of {group[0]} {group[1]}",
        numbers=result.numbers(),
        tables=tables,
        figures=_figures(result, {}),
        findings=_findings(result),
        notes=_notes(result, {}),
    )


def section(db: LakeDB, trace: str) -> Section | None:
    """Arrivals and burstiness of one trace; None without at least MIN_EVENTS timed arrivals."""
    src = event_source(db, trace)
    if src is None:
        return None
    result = analyze(db, trace, source=src)
    if result is None:
        return None
    rb = float(result.rate["offset_s"][1]) if result.rate.height > 1 else None
    groups = by_group(db, trace, src, rate_bin_s=rb)
    numbers = result.numbers()
    total = result.summary.events
    for dim, named in groups.items():
        numbers[f"by_{dim}"] = {name: _group_numbers(g, total) for name, g in sorted(named.items())}

    findings = _findings(result)
    tables: dict[str, pl.DataFrame] = {
        "Index of dispersion by window": _idc_table(result, groups),
        "Arrival rate over time": result.rate,
    }
    if result.fits is not None and result.fits.fits:
        tables["Inter-arrival fits"] = _fit_table(result.fits)
    if groups:
        tables["Largest groups"] = _group_table(groups, total)
    return Section(
        key="burstiness",
        title="Arrivals and burstiness",
        numbers=numbers,
        tables=tables,
        figures=_figures(result, groups),
        findings=findings,
        notes=_notes(result, groups),
    )
