"""Fidelity of a workload to its source: the same statistics on both, a distance per
statistic and a tolerance for it.

Rows are `Statistic`s: the source's value, the generated one, a distance (`how` says which)
and the tolerance it must stay within. `arrival_fidelity` covers arrivals (rate, rate curve,
inter-arrival CV and law, IDC at each window, Hurst), `content_fidelity` the request contents
(quantiles and KS of each numeric column, input-output rank correlation, prefix reuse), and
`fidelity_table` puts them together with the model that made the workload.

TOLERANCES were written down before any model was tuned (README, "Generating workloads").
Distances are symmetric and scale-free where the statistic is a scale (|log ratio|), absolute
where it is already on [0, 1] (KS, Spearman, Hurst, shares). The IDC of a window is an
estimate from a finite number of windows: its tolerance widens to IDC_SIGMAS standard errors
of the difference of two such estimates when there are few windows (see `idc_tolerance`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from rich import box
from rich.table import Table

from analysis import burstiness as bs
from generate.clusters import effective_arrivals
from generate.measures import KS_POINTS, ArrivalMeasures, is_sorted, ks_points, measure_arrivals

# Written before tuning; the README's table is checked against this dict by a test.
TOLERANCES: dict[str, float] = {
    "rate": 0.10,  # |ln(rate_gen / (K x rate_src))|, K the rate scale
    "rate_curve_ks": 0.05,  # KS distance of arrival times over the span both cover
    "iat_cv": 0.25,  # |ln(cv_gen / cv_src)| of inter-arrival times
    "iat_ks": 0.05,  # KS distance of inter-arrival times (generated gaps x K)
    "idc": math.log(1.5),  # |ln(idc_gen / idc_src)| per window, at least (see IDC_SIGMAS)
    "hurst": 0.15,  # |H_gen - H_src|, each estimator
    "quantile": 0.10,  # |ln((q_gen + 1) / (q_src + 1))| at p10, p50, p90, p99 of a column
    "ks": 0.05,  # KS distance of a content column (token lengths, run times, ...)
    "spearman": 0.05,  # |rho_gen - rho_src| of input and output lengths
    "reuse_share": 0.05,  # |share_gen - share_src| of prefix blocks seen before
}
# The log of an IDC estimated from n windows has a standard error of about sqrt(2 / (n - 1))
# (a sample variance over a mean); the difference of two independent ones, 2 / sqrt(n - 1).
IDC_SIGMAS = 2.0
# Likewise a KS distance between two finite samples of one law: it exceeds
# KS_CRITICAL * sqrt((n + m) / (n m)) one time in 20 (Smirnov's asymptotic 5 % critical value,
# sqrt(-ln(0.025) / 2) = 1.358), which is above 0.05 below about 1,500 values a side.
KS_CRITICAL = math.sqrt(-math.log(0.05 / 2) / 2)
QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9, 0.99)
# Content columns are compared on at most this many values per side (a seeded random sample):
# a KS distance or a rank correlation on 1M values is already exact to 0.002.
CONTENT_SAMPLE = 1_000_000
CONTENT_SEED = 14
# Columns whose rank correlation is compared, when both sides have both.
SPEARMAN_PAIRS: tuple[tuple[str, str], ...] = (("input_tokens", "output_tokens"),)
# A content column holding prefix block ids, flattened over all requests: its reuse share is
# the share of blocks seen before (1 - distinct / total), as `analysis.tokens.PrefixReuse`.
HASH_IDS = "hash_ids"


def ks_tolerance(base: float, n_a: float, n_b: float) -> float:
    """`base`, or the 5 % critical KS distance of two samples of n_a and n_b independent values
    when larger (a fixed 0.05 would fail a perfect model on small or clustered samples); at
    most 1, the largest KS distance."""
    if not (n_a >= 1 and n_b >= 1):
        return base
    return min(1.0, max(base, KS_CRITICAL * math.sqrt((n_a + n_b) / (n_a * n_b))))


# How a row whose tolerance was widened by `ks_tolerance` says so (the printed table marks it).
WIDENED = "tolerance: the 5 % critical value"


def _ks_how(how: str, base: float, tol: float, n_a: float, n_b: float, unit: str) -> str:
    if tol <= base:
        return how
    return f"{how}; {WIDENED} at {n_a:,.0f} and {n_b:,.0f} {unit}"


def idc_tolerance(windows: int) -> float:
    """Tolerance of |ln(IDC ratio)| at a window measured `windows` times on each side."""
    if windows < 2:
        return math.inf
    return max(TOLERANCES["idc"], IDC_SIGMAS * 2.0 / math.sqrt(windows - 1))


@dataclass(frozen=True)
class Statistic:
    """One row of a fidelity table.

    `tolerance` None: shown, not checked (`how` says why); then `passed` is None too. A checked
    statistic that cannot be computed on the generated side fails.
    """

    name: str
    source: float | None
    generated: float | None
    distance: float | None
    tolerance: float | None
    passed: bool | None
    how: str

    @property
    def checked(self) -> bool:
        return self.tolerance is not None


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def statistic(
    name: str,
    source: float | None,
    generated: float | None,
    distance: float | None,
    tolerance: float | None,
    how: str,
) -> Statistic:
    """A row; `passed` from the distance and tolerance (a missing distance fails a check)."""
    d = _finite(distance)
    passed = None if tolerance is None else (d is not None and d <= tolerance)
    return Statistic(name, _finite(source), _finite(generated), d, tolerance, passed, how)


def log_ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not (a > 0 and b > 0) or not math.isfinite(a * b):
        return None
    return abs(math.log(a / b))


def ks_distance(a: ArrayLike, b: ArrayLike) -> float | None:
    """Two-sample Kolmogorov-Smirnov distance, sup |F_a - F_b| over both samples' values
    (scipy's ks_2samp statistic, without the p-value nobody reads here, which costs more
    than the statistic on large samples). None with fewer than 2 values on a side.

    A side of more than KS_POINTS values is represented by its KS_POINTS order statistics at
    quantiles 1/m, ..., 1 (`generate.measures.ks_points`), whose empirical CDF is within 1/m
    of its own everywhere: the distance is then within 1/m per such side of the exact one."""
    x, y = _ecdf_points(a), _ecdf_points(b)
    if x.size < 2 or y.size < 2:
        return None
    at = np.concatenate((x, y))
    fx = np.searchsorted(x, at, side="right") / x.size
    fy = np.searchsorted(y, at, side="right") / y.size
    return float(np.max(np.abs(fx - fy)))


def _ecdf_points(a: ArrayLike) -> np.ndarray:
    """Sorted values (sorted already: not copied), reduced to KS_POINTS order statistics."""
    x = np.asarray(a, dtype=np.float64).ravel()
    if not is_sorted(x):
        x = np.sort(x, kind="stable")
    return ks_points(x, KS_POINTS)


def common_windows(resolution_s: float, span_a: float, span_b: float) -> tuple[list[float], float]:
    """IDC windows and the base bin both sides can be measured on: the windows of the shorter
    span, the base bin of the longer (so both fit the report's bin budget)."""
    windows = bs.idc_windows(resolution_s, min(span_a, span_b))
    return windows, bs.base_bin(resolution_s, max(span_a, span_b), windows)


def measure_pair(
    src_ts_s: ArrayLike,
    gen_ts_s: ArrayLike,
    span_src: float,
    span_gen: float,
    resolution_s: float = 0.0,
) -> tuple[ArrivalMeasures, ArrivalMeasures]:
    """Both sides' arrival statistics on the same clock, windows and bins."""
    windows, base = common_windows(resolution_s, span_src, span_gen)
    src = measure_arrivals(src_ts_s, span_src, resolution_s, windows, base)
    gen = measure_arrivals(gen_ts_s, span_gen, resolution_s, windows, base)
    return src, gen


def _window_name(w: float) -> str:
    if w >= 3600:
        return f"{w / 3600:g} h"
    if w >= 60:
        return f"{w / 60:g} min"
    if w >= 1:
        return f"{w:g} s"
    return f"{w * 1000:g} ms"


def arrival_fidelity(
    src_ts_s: ArrayLike,
    gen_ts_s: ArrayLike,
    span_src: float,
    span_gen: float,
    *,
    resolution_s: float = 0.0,
    rate_scale: float = 1.0,
    from_start: bool = False,
) -> list[Statistic]:
    """Arrival statistics of a generated workload against its source.

    Times are seconds from each workload's start; spans are the time each covers (a source's
    span is first to last arrival plus one tick, a generated one its duration). Both are read
    off the same clock, `resolution_s`: the coarser of the source's effective clock and the
    generator's. `rate_scale` K is the rate multiplier the workload was generated with: the
    rate is compared with K times the source's, generated gaps are multiplied by K before the
    KS test, and the IDC and Hurst rows are shown but not checked when K != 1 (a K-times
    busier process with the same relative rate curve has an IDC about K times larger where
    the rate curve dominates: the shape is kept, not the values); Hurst rows neither when the
    spans differ by more than 1 %. `from_start` (a generated workload, which follows the
    source's rate curve from its start): a workload shorter than its source is compared with
    the source's first stretch of the same length.
    """
    src_t = np.asarray(src_ts_s, dtype=np.float64).ravel()
    gen_t = np.asarray(gen_ts_s, dtype=np.float64).ravel()
    src_t, gen_t = (x if is_sorted(x) else np.sort(x) for x in (src_t, gen_t))
    # A workload shorter than its source follows the source's rate curve from its start: it
    # is compared with that stretch of the source, not with the whole trace.
    short = from_start and span_gen < span_src * (1 - 1e-9)
    if short:
        src_t, span_src = src_t[: np.searchsorted(src_t, span_gen)], span_gen
    stretch = f" (source: its first {span_gen:,.6g} s)" if short else ""
    a, b = measure_pair(src_t, gen_t, span_src, span_gen, resolution_s)
    k = float(rate_scale)
    same_rate = math.isclose(k, 1.0)
    rows: list[Statistic] = []
    expected = a.events * k * span_gen / span_src if span_src > 0 else math.nan
    rows.append(
        statistic(
            "requests",
            a.events,
            b.events,
            log_ratio(b.events, expected),
            None,
            f"count; |ln(generated / expected)| with expected = source x {k:g} x span ratio "
            f"{span_gen / span_src:.4g}{stretch}; checked as the rate",
        )
    )
    rows.append(
        statistic(
            "rate (/s)",
            a.rate_per_s,
            b.rate_per_s,
            log_ratio(b.rate_per_s, k * a.rate_per_s),
            TOLERANCES["rate"],
            f"|ln(generated / ({k:g} x source))|{stretch}",
        )
    )
    common = min(span_src, span_gen)
    src_c, gen_c = src_t[: np.searchsorted(src_t, common)], gen_t[: np.searchsorted(gen_t, common)]
    ks_t = ks_distance(src_c, gen_c)
    # Arrivals that come in clusters (a job's tasks) move together: the KS tolerances of
    # arrival times and gaps count independent clusters, not arrivals. Both sides are sized
    # by the source's clustering (the null: the generated workload is another draw of the
    # source's process), so a workload clumpier than its source earns no looser tolerance.
    n_a = effective_arrivals(src_c)
    n_b = n_a * gen_c.size / src_c.size if src_c.size else 0.0
    del src_t, gen_t, src_c, gen_c  # measured below from the caller's arrays
    base = TOLERANCES["rate_curve_ks"]
    tol = ks_tolerance(base, n_a, n_b)
    how = f"KS distance of the arrival times in the first {common:,.0f} s of each"
    rows.append(
        statistic(
            "rate curve (KS of arrival times)",
            None,
            None,
            ks_t,
            tol,
            _ks_how(how, base, tol, n_a, n_b, "effective arrivals (clusters weighed by size)"),
        )
    )
    gaps_ok = a.gaps_measurable and b.gaps_measurable
    clock = f"{resolution_s:g} s clock"
    why_not = (
        None
        if gaps_ok
        else f"not checked: mean gap under 2 ticks of the {clock}, the gaps' shape is not "
        "in the timestamps"
    )
    rows.append(
        statistic(
            "inter-arrival CV",
            a.iat_cv,
            b.iat_cv,
            log_ratio(b.iat_cv, a.iat_cv),
            TOLERANCES["iat_cv"] if gaps_ok else None,
            why_not or f"|ln(generated / source)|, gaps on the {clock}",
        )
    )
    base = TOLERANCES["iat_ks"]
    tol = ks_tolerance(base, n_a, n_b)
    how = f"KS distance of gaps (generated x {k:g})" if not same_rate else "KS distance of gaps"
    rows.append(
        statistic(
            "inter-arrival KS",
            None,
            None,
            ks_distance(a.gaps, _ecdf_points(b.gaps) * k),  # k > 0 keeps the order
            tol if gaps_ok else None,
            why_not or _ks_how(how, base, tol, n_a, n_b, "effective arrivals"),
        )
    )
    scale_note = f"shown, not checked at rate scale {k:g}"
    for w in sorted(set(a.idc) & set(b.idc)):
        n = min(a.idc_windows[w], b.idc_windows[w])
        tol = idc_tolerance(n)
        rows.append(
            statistic(
                f"IDC at {_window_name(w)}",
                a.idc[w],
                b.idc[w],
                log_ratio(b.idc[w], a.idc[w]),
                tol if same_rate else None,
                f"|ln(generated / source)| over {n:,} windows" if same_rate else scale_note,
            )
        )
    # Hurst estimates over spans of different lengths are not comparable on a trace whose
    # rate varies: a longer span reaches further into the curve's swings (and its repeats).
    same_span = math.isclose(span_gen, span_src, rel_tol=0.01)
    if not same_rate:
        hurst_note = scale_note
    elif not same_span:
        hurst_note = (
            f"shown, not checked: spans differ ({span_gen:,.6g} s generated, {span_src:,.6g} s "
            "source)"
        )
    else:
        hurst_note = f"|generated - source|, counts in {a.hurst_bin_s:g} s bins"
    for label, ha, hb in (
        ("aggregated variance", a.hurst_aggregated_variance, b.hurst_aggregated_variance),
        ("R/S", a.hurst_rescaled_range, b.hurst_rescaled_range),
    ):
        defined = math.isfinite(ha)
        rows.append(
            statistic(
                f"Hurst ({label})",
                ha,
                hb,
                abs(hb - ha) if defined and math.isfinite(hb) else None,
                TOLERANCES["hurst"] if same_rate and same_span and defined else None,
                hurst_note
                if defined
                else "not checked: undefined for the source (counts do not vary enough)",
            )
        )
    return rows


# ---------------------------------------------------------------- contents


def _sample(x: np.ndarray, size: int = CONTENT_SAMPLE) -> np.ndarray:
    if x.size <= size:
        return x
    return np.random.default_rng(CONTENT_SEED).choice(x, size, replace=False)


def _known(x: ArrayLike) -> np.ndarray:
    v = np.asarray(x, dtype=np.float64).ravel()
    return v[np.isfinite(v)]


def reuse_share(hash_ids: ArrayLike) -> float | None:
    """Share of prefix blocks seen before, given every request's block ids in one flat array:
    1 - distinct / total (an infinite prefix cache's hit rate)."""
    h = np.asarray(hash_ids).ravel()
    if h.size == 0:
        return None
    return 1.0 - np.unique(h).size / h.size


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return None
    xs, ys = x[ok], y[ok]
    if xs.size > CONTENT_SAMPLE:
        pick = np.random.default_rng(CONTENT_SEED).choice(xs.size, CONTENT_SAMPLE, replace=False)
        xs, ys = xs[pick], ys[pick]
    if np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return None
    from scipy import stats  # lazily: scipy.stats costs a second to import

    return float(stats.spearmanr(xs, ys).statistic)


def content_fidelity(src: Mapping[str, ArrayLike], gen: Mapping[str, ArrayLike]) -> list[Statistic]:
    """Request contents of a generated workload against its source.

    Each side maps a column name to its values, one per request (NaN where unknown, e.g. the
    output of an unfinished request): `input_tokens`, `output_tokens`, `run_s`, `num_cpus`,
    ... For every column both sides have: the QUANTILES (|ln((q_gen + 1) / (q_src + 1))|,
    which keeps small integer counts and zeros comparable) and the KS distance. For each of
    SPEARMAN_PAIRS both sides have (equal-length columns): Spearman's rho over the requests
    where both are known. `hash_ids` (every request's prefix block ids, flattened): the reuse
    share.
    """
    rows: list[Statistic] = []
    for name in src:
        if name == HASH_IDS or name not in gen:
            continue
        a, b = _known(src[name]), _known(gen[name])
        if a.size == 0:
            continue
        qa = np.quantile(a, QUANTILES)
        qb = np.quantile(b, QUANTILES) if b.size else [math.nan] * len(QUANTILES)
        for p, x, y in zip(QUANTILES, qa, qb, strict=True):
            d = log_ratio(float(y) + 1, float(x) + 1) if x >= 0 and y >= 0 else None
            rows.append(
                statistic(
                    f"{name} p{p * 100:g}",
                    float(x),
                    float(y),
                    d,
                    TOLERANCES["quantile"],
                    "|ln((generated + 1) / (source + 1))|",
                )
            )
        xa, xb = _sample(a), _sample(b)
        base = TOLERANCES["ks"]
        tol = ks_tolerance(base, xa.size, xb.size)
        how = "KS distance of the values" + (
            f" (random samples of {CONTENT_SAMPLE:,})"
            if max(a.size, b.size) > CONTENT_SAMPLE
            else ""
        )
        rows.append(
            statistic(
                f"{name} KS",
                None,
                None,
                ks_distance(xa, xb),
                tol,
                _ks_how(how, base, tol, xa.size, xb.size, "values"),
            )
        )
    for x, y in SPEARMAN_PAIRS:
        if not all(k in side for side in (src, gen) for k in (x, y)):
            continue
        ra = _spearman(np.asarray(src[x], dtype=np.float64), np.asarray(src[y], dtype=np.float64))
        rb = _spearman(np.asarray(gen[x], dtype=np.float64), np.asarray(gen[y], dtype=np.float64))
        rows.append(
            statistic(
                f"Spearman {x} ~ {y}".replace("_tokens", ""),
                ra,
                rb,
                abs(rb - ra) if ra is not None and rb is not None else None,
                TOLERANCES["spearman"] if ra is not None else None,
                "|generated - source|, requests where both are known",
            )
        )
    if HASH_IDS in src and HASH_IDS in gen:
        sa, sb = reuse_share(src[HASH_IDS]), reuse_share(gen[HASH_IDS])
        rows.append(
            statistic(
                "prefix reuse share",
                sa,
                sb,
                abs(sb - sa) if sa is not None and sb is not None else None,
                TOLERANCES["reuse_share"] if sa is not None else None,
                "|generated - source|, share of prefix blocks seen before",
            )
        )
    return rows


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class FidelityTable:
    """A fidelity table: `generated` scored against `source`, row by row.

    `model`: what made the generated side (an arrival model's `describe()`, or None when two
    traces are compared); `notes`: how the comparison was made (clock, spans, rate scale).
    """

    source: str
    generated: str
    rows: tuple[Statistic, ...]
    model: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def checked(self) -> list[Statistic]:
        return [r for r in self.rows if r.checked]

    @property
    def failed(self) -> list[Statistic]:
        return [r for r in self.rows if r.passed is False]

    @property
    def passed(self) -> bool:
        """Every checked statistic within its tolerance."""
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        """The table as JSON-able data (NaN and inf as null)."""
        from analysis.db import jsonable

        return jsonable(
            {
                "source": self.source,
                "generated": self.generated,
                "passed": self.passed,
                "failed": [r.name for r in self.failed],
                "checked": len(self.checked),
                "model": self.model,
                "notes": list(self.notes),
                "tolerances": TOLERANCES,
                "rows": [asdict(r) for r in self.rows],
            }
        )

    def rich_table(self) -> Table:
        """The table for a terminal: one line per statistic, failures in red."""
        verdict = "passed" if self.passed else f"{len(self.failed)} of {len(self.checked)} failed"
        table = Table(
            title=f"Fidelity of {self.generated} to {self.source}: {verdict}",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        widened = [WIDENED in r.how for r in self.rows]
        cells = [
            [
                _num(r.source),
                _num(r.generated),
                _num(r.distance),
                _num(r.tolerance) + ("*" if w else ""),
            ]
            for r, w in zip(self.rows, widened, strict=True)
        ]
        if any(widened):
            table.caption = (
                "* widened to the 5 % critical value of a KS test at the effective sample "
                "size (--json: each row's `how`)"
            )
            table.caption_justify = "left"
        # Numbers never truncate; the statistic's name folds on a narrow terminal.
        table.add_column("statistic", overflow="fold", min_width=12)
        for i, col in enumerate(("source", "generated", "distance", "tolerance")):
            width = max([len(col), *(len(c[i]) for c in cells)])
            table.add_column(col, justify="right", no_wrap=True, min_width=width)
        table.add_column("", no_wrap=True, min_width=4)
        for r, c in zip(self.rows, cells, strict=True):
            mark = {True: "[green]ok[/]", False: "[red]FAIL[/]", None: "[dim]-[/]"}[r.passed]
            table.add_row(r.name, *c, mark)
        return table


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if x == math.inf:
        return "inf"
    if abs(x) >= 1e4:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def fidelity_table(
    source: str,
    generated: str,
    arrivals: Sequence[Statistic] = (),
    contents: Sequence[Statistic] = (),
    model: dict[str, Any] | None = None,
    notes: Sequence[str] = (),
) -> FidelityTable:
    """One table of arrival and content rows (from `arrival_fidelity`, `content_fidelity`)."""
    return FidelityTable(source, generated, (*arrivals, *contents), model, tuple(notes))
