"""Cold starts, the compute step: recorded where a trace records them, modelled by keep-alive
simulation where not. `compute` returns a `RecordedColdStarts` or a `ModelledColdStarts`;
`analysis.coldstarts_report` turns either into the section.

Recorded (`cold_starts` table, Huawei 2025): counts, total-time quantiles and the breakdown of
the mean cold start into pod allocation, code deployment, dependency deployment and scheduling,
per region, runtime and trigger.

Modelled (serverless traces without cold starts: Azure Functions 2019 per-minute invocation
counts in `series`, Azure Functions 2021 invocations in `requests`): every function is one
instance that serves its invocations one after another. After an invocation ends the instance
stays warm for a keep-alive window; the next invocation is cold when it comes later than that
(or is the function's first), and idle-but-warm time is wasted memory-time. Fixed windows run in
SQL over every function (`coldstarts_fixed.sql`, one query for both tables through the
`invocations` view). The adaptive policy of Shahrad et al. ("Serverless in the Wild", USENIX
ATC'20) must replay each function's idle times in order, so it runs in numpy on a deterministic
sample (MD5 order of the function key, bounded in functions and events), with the fixed windows
recomputed on the same sample for a fair comparison.

The adaptive ("hybrid histogram") policy as implemented here, per function and online: idle
times (end of an invocation to the next arrival) go into a histogram of 1-minute bins over
4 hours, plus a count of out-of-bound idle times. When the histogram is representative (bin-count
CV >= 2 and fewer than half the idle times out of bounds), the instance is unloaded after each
invocation and loaded again after the pre-warm window (5th-percentile bin, minus a 10% margin)
and kept until the keep-alive end (upper edge of the 99th-percentile bin, plus 10%); a pre-warm
window of zero keeps the instance warm from the end of the invocation. Otherwise it falls back
to a fixed keep-alive of the histogram range (4 hours), as the paper's policy does when the
pattern is uncertain. Simplified: the paper's ARIMA forecast for functions whose idle times are
mostly out of bounds is replaced by the same fixed fallback; the unit is the function (the paper
simulates applications); the policy's windows are recomputed after every idle time (exactly
online, no batching); concurrency is ignored (one instance per function).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from analysis.db import LakeDB
from analysis.db import rounded_table as rounded_table  # re-exported

KEY = "cold_starts"
WINDOWS_MIN = (1, 5, 10, 20, 30, 60, 120)
BASELINE_MIN = 10  # the paper normalizes wasted memory-time to a fixed 10-minute keep-alive
MAX_EVENTS = 200_000
MAX_FN_EVENTS = 20_000
MAX_FUNCTIONS = 2_000
PHASES = ("pod_alloc", "code_deploy", "deps_deploy", "scheduling")
PHASE_NAMES = {
    "pod_alloc": "pod allocation",
    "code_deploy": "code deployment",
    "deps_deploy": "dependency deployment",
    "scheduling": "scheduling",
    "unattributed": "unattributed",
}
RECORDED_DIMS = ("region", "runtime", "trigger")

FloatArray = npt.NDArray[np.float64]


# ---------------------------------------------------------------- pure simulation


@dataclass(frozen=True)
class KeepAliveResult:
    """Outcome of replaying one function (or the sum over functions) under a policy."""

    invocations: float
    events: int  # arrivals that can be cold (per-interval traces: active intervals)
    cold_starts: int
    wasted_s: float
    histogram_share: float | None = None  # adaptive: share of decisions taken from the histogram

    @property
    def cold_start_rate(self) -> float:
        return self.cold_starts / self.invocations if self.invocations > 0 else math.nan


@dataclass(frozen=True)
class HistogramPolicy:
    """Parameters of the hybrid histogram policy (Shahrad et al., ATC'20, section 4.2)."""

    bin_s: float = 60.0
    range_s: float = 4 * 3600.0
    head: float = 0.05  # pre-warm at this percentile of idle times
    tail: float = 0.99  # keep alive until this percentile
    margin: float = 0.10  # pre-warm earlier and keep alive longer by this fraction
    cv_threshold: float = 2.0  # bin-count CV below this: histogram not representative
    oob_threshold: float = 0.5  # out-of-bound share at or above this: not representative
    fallback_s: float | None = None  # fixed keep-alive when not representative (None: range_s)

    @property
    def n_bins(self) -> int:
        return max(1, round(self.range_s / self.bin_s))

    @property
    def fallback(self) -> float:
        return self.range_s if self.fallback_s is None else self.fallback_s


def idle_times(arrivals_s: npt.ArrayLike, durations_s: npt.ArrayLike | None = None) -> FloatArray:
    """Idle time before each arrival: arrival minus the latest end of earlier invocations.

    NaN for the first arrival; negative when the instance is still busy. Arrivals are sorted.
    """
    t = np.asarray(arrivals_s, dtype=float)
    d = np.zeros_like(t) if durations_s is None else np.asarray(durations_s, dtype=float)
    out = np.full(t.shape, np.nan)
    if t.size > 1:
        busy_until = np.maximum.accumulate(t + d)
        out[1:] = t[1:] - busy_until[:-1]
    return out


def _counts(idle: FloatArray, counts: npt.ArrayLike | None) -> FloatArray:
    return np.ones(idle.size) if counts is None else np.asarray(counts, dtype=float)


def fixed_keepalive(
    idle_s: npt.ArrayLike,
    window_s: float,
    counts: npt.ArrayLike | None = None,
    tail_s: float = 0.0,
) -> KeepAliveResult:
    """One function under a fixed keep-alive window.

    `idle_s` has one entry per arrival (NaN for the first, see `idle_times`); `counts` is the
    number of invocations per arrival (per-interval traces), `tail_s` the idle time after the
    last one until the end of the trace. An arrival is cold when it is the first or its idle
    time exceeds the window; wasted time is each idle time clipped to [0, window].
    """
    idle = np.asarray(idle_s, dtype=float)
    if idle.size == 0:
        return KeepAliveResult(0.0, 0, 0, 0.0)
    gaps = idle[1:]
    cold = 1 + int(np.count_nonzero(gaps > window_s))
    wasted = float(np.clip(gaps, 0.0, window_s).sum()) + float(np.clip(tail_s, 0.0, window_s))
    return KeepAliveResult(float(_counts(idle, counts).sum()), int(idle.size), cold, wasted)


def policy_windows(
    gaps_s: npt.ArrayLike, policy: HistogramPolicy, chunk: int = 4096
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Pre-warm and unload times (seconds after an invocation ends) before each idle time.

    Entry k is the policy's decision once it has seen the first k idle times (so the last entry,
    k = len(gaps), governs the tail). Also returns whether each decision used the histogram.
    Vectorized over a running one-hot count matrix, `chunk` decisions at a time.
    """
    gaps = np.maximum(np.nan_to_num(np.asarray(gaps_s, dtype=float), nan=0.0), 0.0)
    m, nb = gaps.size, policy.n_bins
    col = np.minimum(np.floor(gaps / policy.bin_s), nb).astype(np.int64)  # nb = out of bounds
    prewarm = np.zeros(m + 1)
    unload = np.full(m + 1, policy.fallback)
    from_hist = np.zeros(m + 1, dtype=bool)
    base = np.zeros(nb + 1, dtype=np.int64)
    for s in range(0, m + 1, chunk):
        e = min(m + 1, s + chunk)
        inc = np.zeros((e - s, nb + 1), dtype=np.int64)
        if e - s > 1:
            inc[np.arange(1, e - s), col[s : e - 1]] = 1
        cum = base + np.cumsum(inc, axis=0)
        if e - 1 < m:
            base = cum[-1].copy()
            base[col[e - 1]] += 1
        hist = cum[:, :nb]
        total = hist.sum(axis=1)
        oob = cum[:, nb]
        mean = total / nb
        sumsq = (hist.astype(float) ** 2).sum(axis=1)
        var = np.maximum(sumsq - total * mean, 0.0) / max(nb - 1, 1)
        cv = np.where(total > 0, np.sqrt(var) / np.where(total > 0, mean, 1.0), 0.0)
        seen = total + oob
        oob_rate = np.where(seen > 0, oob / np.maximum(seen, 1), 0.0)
        ok = (total > 0) & (oob_rate < policy.oob_threshold) & (cv >= policy.cv_threshold)
        cs = np.cumsum(hist, axis=1)
        head_bin = np.argmax(cs >= policy.head * total[:, None], axis=1)
        tail_bin = np.argmax(cs >= policy.tail * total[:, None], axis=1)
        prewarm[s:e] = np.where(ok, head_bin * policy.bin_s * (1 - policy.margin), 0.0)
        unload[s:e] = np.where(
            ok, (tail_bin + 1) * policy.bin_s * (1 + policy.margin), policy.fallback
        )
        from_hist[s:e] = ok
    return prewarm, unload, from_hist


def adaptive_keepalive(
    idle_s: npt.ArrayLike,
    policy: HistogramPolicy | None = None,
    counts: npt.ArrayLike | None = None,
    tail_s: float = 0.0,
) -> KeepAliveResult:
    """One function under the hybrid histogram policy (arguments as in `fixed_keepalive`).

    An arrival after idle time x is warm when the instance is still busy (x <= 0) or loaded
    (pre-warm <= x <= unload); wasted time is max(0, min(x, unload) - pre-warm).
    """
    policy = policy or HistogramPolicy()
    idle = np.asarray(idle_s, dtype=float)
    if idle.size == 0:
        return KeepAliveResult(0.0, 0, 0, 0.0, None)
    gaps = idle[1:]
    prewarm, unload, from_hist = policy_windows(gaps, policy)
    x = np.maximum(np.nan_to_num(gaps, nan=0.0), 0.0)
    warm = (gaps <= 0) | ((x >= prewarm[:-1]) & (x <= unload[:-1]))
    cold = 1 + int(np.count_nonzero(~warm))
    wasted = float(np.maximum(0.0, np.minimum(x, unload[:-1]) - prewarm[:-1]).sum())
    if tail_s > 0:
        wasted += max(0.0, min(tail_s, float(unload[-1])) - float(prewarm[-1]))
    return KeepAliveResult(
        float(_counts(idle, counts).sum()), int(idle.size), cold, wasted, float(from_hist.mean())
    )


# ---------------------------------------------------------------- queries


def source_of(db: LakeDB, trace: str) -> str | None:
    """Where cold starts come from: recorded, series or requests (modelled), or None."""
    if db.has(trace, "cold_starts"):
        return "recorded"
    info = db.info(trace)
    if info.family != "serverless" or not info.has_time:
        return None
    if db.has(trace, "series"):
        return "series"
    if db.has(trace, "requests"):
        return "requests"
    return None


def recorded(db: LakeDB, trace: str, dim: str = "all") -> pl.DataFrame:
    """Recorded cold starts per group of `dim` (all, region, runtime, trigger).

    Counts (n, functions, pods), total time (mean_s, p50_s, p90_s, p99_s, max_s) and, per phase,
    <phase>_mean_s, <phase>_p50_s, <phase>_p90_s and <phase>_p99_s.
    """
    out = db.query_rounded("coldstarts_recorded_by", trace=trace, dim=dim)
    quantiles = rounded_table(
        db.quantiles("coldstarts_recorded_values", (0.5, 0.9, 0.99), trace=trace, dim=dim)
    )
    for part in ("total", *PHASES):
        prefix = "" if part == "total" else f"{part}_"
        q = quantiles.filter(pl.col("part") == part).select(
            "grp", *[pl.col(c).alias(f"{prefix}{c}_s") for c in ("p50", "p90", "p99")]
        )
        out = out.join(q, on="grp", how="left", maintain_order="left")
    return out


def recorded_over_time(db: LakeDB, trace: str, max_bins: int = 500) -> pl.DataFrame:
    return db.query_rounded("coldstarts_recorded_over_time", trace=trace, max_bins=max_bins)


def keepalive_fixed(
    db: LakeDB, trace: str, windows_min: tuple[float, ...] = WINDOWS_MIN
) -> pl.DataFrame:
    """Modelled cold starts and wasted instance-seconds per fixed window, over all functions."""
    src = source_of(db, trace)
    if src not in ("series", "requests"):
        return pl.DataFrame()
    windows = [float(w) * 60.0 for w in windows_min]
    out = db.query_rounded("coldstarts_fixed", source=src, trace=trace, windows=windows)
    return out.with_columns(
        (pl.col("window_s") / 60.0).alias("window_min"),
        (pl.col("cold_starts") / pl.col("invocations")).alias("cold_start_rate"),
    )


def replay_sample(
    db: LakeDB,
    trace: str,
    max_events: int = MAX_EVENTS,
    max_functions: int = MAX_FUNCTIONS,
    max_fn_events: int = MAX_FN_EVENTS,
) -> pl.DataFrame:
    """Idle times of a deterministic sample of functions, in order (fn, k, n, idle_s, tail_s)."""
    src = source_of(db, trace)
    if src not in ("series", "requests"):
        return pl.DataFrame()
    return db.query_rounded(
        "coldstarts_idle",
        source=src,
        trace=trace,
        max_events=max_events,
        max_functions=max_functions,
        max_fn_events=max_fn_events,
    )


def function_memory(db: LakeDB, trace: str) -> pl.DataFrame:
    """Memory per function (fn, mem_gb) where the trace publishes it (Azure 2019), else empty."""
    if source_of(db, trace) != "series" or not db.has(trace, "summaries"):
        return pl.DataFrame(schema={"fn": pl.String, "mem_gb": pl.Float64})
    return db.query_rounded("coldstarts_series_memory", trace=trace)


def _rate_quantiles(cold: FloatArray, inv: FloatArray) -> tuple[float, float]:
    rates = cold / inv
    return float(np.percentile(rates, 50)), float(np.percentile(rates, 75))


def compare_policies(
    db: LakeDB,
    trace: str,
    windows_min: tuple[float, ...] = WINDOWS_MIN,
    policy: HistogramPolicy | None = None,
    max_events: int = MAX_EVENTS,
    max_functions: int = MAX_FUNCTIONS,
) -> pl.DataFrame:
    """Fixed windows and the adaptive policy replayed on the same sample of functions.

    One row per policy: functions, invocations, cold starts, pooled and per-function (p50, p75)
    cold-start rates, wasted instance-seconds, wasted GB-s (when memory is known) and wasted
    memory-time relative to the fixed 10-minute window.
    """
    policy = policy or HistogramPolicy()
    sample = replay_sample(db, trace, max_events, max_functions)
    if sample.is_empty():
        return pl.DataFrame()
    mem = dict(function_memory(db, trace).iter_rows())
    parts = sample.partition_by("fn", maintain_order=True)
    fns = [p["fn"][0] for p in parts]
    mem_gb = np.array([mem.get(f, np.nan) for f in fns])
    has_mem = bool(np.isfinite(mem_gb).any())
    idles = [p["idle_s"].fill_null(np.nan).to_numpy() for p in parts]
    counts = [p["n"].to_numpy() for p in parts]
    tails = [float(p["tail_s"].drop_nulls().sum()) for p in parts]

    def row(name: str, window: float | None, res: list[KeepAliveResult]) -> dict[str, Any]:
        inv = np.array([r.invocations for r in res])
        cold = np.array([r.cold_starts for r in res], dtype=float)
        wasted = np.array([r.wasted_s for r in res])
        p50, p75 = _rate_quantiles(cold, inv)
        hist = [r.histogram_share for r in res if r.histogram_share is not None]
        return {
            "policy": name,
            "window_min": window,
            "functions": len(res),
            "invocations": float(inv.sum()),
            "cold_starts": int(cold.sum()),
            "cold_start_rate": float(cold.sum() / inv.sum()),
            "fn_cold_rate_p50": p50,
            "fn_cold_rate_p75": p75,
            "wasted_s": float(wasted.sum()),
            "wasted_gb_s": float(np.nansum(wasted * mem_gb)) if has_mem else None,
            "histogram_share": float(np.mean(hist)) if hist else None,
        }

    rows = [
        row(
            f"fixed {w:g} min",
            float(w),
            [
                fixed_keepalive(i, w * 60.0, c, t)
                for i, c, t in zip(idles, counts, tails, strict=True)
            ],
        )
        for w in windows_min
    ]
    rows.append(
        row(
            "adaptive",
            None,
            [
                adaptive_keepalive(i, policy, c, t)
                for i, c, t in zip(idles, counts, tails, strict=True)
            ],
        )
    )
    table = pl.DataFrame(rows)
    base_min = min(windows_min, key=lambda w: abs(w - BASELINE_MIN))
    measure = "wasted_gb_s" if has_mem else "wasted_s"
    base = table.filter(pl.col("window_min") == base_min)[measure][0]
    return table.with_columns(
        (pl.col(measure) / base if base else pl.lit(None, pl.Float64)).alias(
            f"wasted_vs_fixed_{base_min:g}min"
        )
    )


# ---------------------------------------------------------------- typed results


@dataclass(frozen=True)
class ColdStartGroup:
    """Recorded cold starts of one group (all, or one region, runtime or trigger); seconds.

    `phase_*` map each of PHASES to the phase's mean, median or 99th percentile (None when no
    record of the group has that phase)."""

    group: str
    n: int  # cold starts
    functions: int
    pods: int
    mean_s: float | None
    p50_s: float | None
    p90_s: float | None
    p99_s: float | None
    max_s: float | None
    phase_mean_s: dict[str, float | None]
    phase_p50_s: dict[str, float | None]
    phase_p99_s: dict[str, float | None]

    @property
    def unattributed_mean_s(self) -> float | None:
        """The mean cold start less the mean of every phase recorded (None without a mean)."""
        if self.mean_s is None:
            return None
        return self.mean_s - sum(v for v in self.phase_mean_s.values() if v is not None)

    @property
    def phase_share_of_mean(self) -> dict[str, float]:
        """Each phase's mean over the mean cold start (empty without a positive mean)."""
        if not self.mean_s:
            return {}
        return {p: (v or 0.0) / self.mean_s for p, v in self.phase_mean_s.items()}

    @staticmethod
    def of(row: dict[str, Any]) -> ColdStartGroup:
        """From a row of `recorded()`."""
        return ColdStartGroup(
            group=str(row["grp"]),
            n=int(row["n"]),
            functions=int(row["functions"]),
            pods=int(row["pods"]),
            mean_s=row["mean_s"],
            p50_s=row["p50_s"],
            p90_s=row["p90_s"],
            p99_s=row["p99_s"],
            max_s=row["max_s"],
            phase_mean_s={p: row[f"{p}_mean_s"] for p in PHASES},
            phase_p50_s={p: row[f"{p}_p50_s"] for p in PHASES},
            phase_p99_s={p: row[f"{p}_p99_s"] for p in PHASES},
        )


@dataclass(frozen=True)
class RecordedColdStarts:
    """Cold starts a trace records (Huawei 2025), overall and per region, runtime and trigger.

    `tables`: `recorded()` for "overall" and each dimension in `by_dim`; `cdf`: total_s, cdf
    (share of cold starts at or below); `over_time`: bin_s, bin_start (epoch s), n.
    """

    trace: str
    time_origin: str
    overall: ColdStartGroup
    by_dim: dict[str, list[ColdStartGroup]]  # dimension -> its groups, "(unknown)" included
    tables: dict[str, pl.DataFrame]
    cdf: pl.DataFrame
    over_time: pl.DataFrame | None


@dataclass(frozen=True)
class WindowOutcome:
    """Modelled outcome of one fixed keep-alive window over every function."""

    window_min: float
    cold_starts: int
    cold_start_rate: float  # cold starts over invocations
    fn_cold_rate_p50: float  # median of the per-function cold-start rates
    fn_cold_rate_p75: float  # 75th percentile of the per-function cold-start rates
    fn_always_cold: float | None  # share of functions cold on every invocation
    wasted_s: float  # idle-but-warm instance-seconds


@dataclass(frozen=True)
class PolicyOutcome:
    """One policy replayed on the sample of functions (a row of `compare_policies`)."""

    policy: str  # "fixed 10 min", ..., "adaptive"
    window_min: float | None  # None for the adaptive policy
    cold_start_rate: float
    fn_cold_rate_p50: float
    fn_cold_rate_p75: float
    wasted_s: float  # idle-but-warm instance-seconds
    wasted_gb_s: float | None  # weighted by function memory, when known
    wasted_vs_baseline: float | None  # wasted memory-time over the baseline window's
    histogram_share: float | None  # adaptive: share of decisions taken from the histogram


@dataclass(frozen=True)
class PolicyComparison:
    """Fixed windows and the adaptive policy on one deterministic sample of functions.

    `table` is `compare_policies()`; `baseline_min` the fixed window the wasted memory-time
    is compared with (the one nearest BASELINE_MIN)."""

    functions: int
    invocations: float
    share_of_invocations: float  # of every invocation of the trace
    memory_known: bool  # wasted memory-time in GB-s (else instance-s)
    baseline_min: float
    outcomes: list[PolicyOutcome]
    table: pl.DataFrame

    @property
    def adaptive(self) -> PolicyOutcome:
        return next(o for o in self.outcomes if o.window_min is None)

    def fixed(self, window_min: float) -> PolicyOutcome | None:
        return next((o for o in self.outcomes if o.window_min == window_min), None)


@dataclass(frozen=True)
class ModelledColdStarts:
    """Cold starts modelled by keep-alive simulation (traces that do not record them).

    `source` is where invocations come from: "series" (per-interval counts) or "requests";
    `fixed_table` is `keepalive_fixed()`, one row per window of `windows`."""

    trace: str
    source: str
    functions: int
    invocations: float
    windows: list[WindowOutcome]
    fixed_table: pl.DataFrame
    policies: PolicyComparison | None
    policy: HistogramPolicy

    def window(self, window_min: float) -> WindowOutcome | None:
        return next((w for w in self.windows if w.window_min == window_min), None)


ColdStartsResult = RecordedColdStarts | ModelledColdStarts


# ---------------------------------------------------------------- compute


def _recorded(db: LakeDB, trace: str) -> RecordedColdStarts | None:
    overall = recorded(db, trace, "all")
    if overall.is_empty() or overall["n"][0] == 0:
        return None
    tables = {"overall": overall}
    by_dim: dict[str, list[ColdStartGroup]] = {}
    for dim in RECORDED_DIMS:
        t = recorded(db, trace, dim)
        if t.is_empty() or (t.height == 1 and t["grp"][0] == "(unknown)"):
            continue
        by_dim[dim] = [ColdStartGroup.of(g) for g in t.iter_rows(named=True)]
        tables[f"by_{dim}"] = t
    ot = recorded_over_time(db, trace)
    return RecordedColdStarts(
        trace=trace,
        time_origin=db.info(trace).time_origin,
        overall=ColdStartGroup.of(overall.row(0, named=True)),
        by_dim=by_dim,
        tables=tables,
        cdf=db.query_rounded("coldstarts_recorded_cdf", trace=trace, points=1000),
        over_time=None if ot.is_empty() else ot,
    )


def _policies(
    db: LakeDB, trace: str, policy: HistogramPolicy, total_inv: float
) -> PolicyComparison | None:
    comp = compare_policies(db, trace, policy=policy)
    if comp.is_empty():
        return None
    norm_col = next(c for c in comp.columns if c.startswith("wasted_vs_fixed_"))
    outcomes = [
        PolicyOutcome(
            policy=r["policy"],
            window_min=r["window_min"],
            cold_start_rate=r["cold_start_rate"],
            fn_cold_rate_p50=r["fn_cold_rate_p50"],
            fn_cold_rate_p75=r["fn_cold_rate_p75"],
            wasted_s=r["wasted_s"],
            wasted_gb_s=r["wasted_gb_s"],
            wasted_vs_baseline=r[norm_col],
            histogram_share=r["histogram_share"],
        )
        for r in comp.iter_rows(named=True)
    ]
    sample_inv = float(comp["invocations"][0])
    return PolicyComparison(
        functions=int(comp["functions"][0]),
        invocations=sample_inv,
        share_of_invocations=sample_inv / total_inv,
        memory_known=comp["wasted_gb_s"].null_count() < comp.height,
        baseline_min=float(norm_col.removeprefix("wasted_vs_fixed_").removesuffix("min")),
        outcomes=outcomes,
        table=comp,
    )


def _modelled(db: LakeDB, trace: str, src: str) -> ModelledColdStarts | None:
    fixed = keepalive_fixed(db, trace)
    if fixed.is_empty() or not fixed["invocations"][0]:
        return None
    policy = HistogramPolicy()
    total_inv = float(fixed["invocations"][0])
    windows = [
        WindowOutcome(
            window_min=r["window_min"],
            cold_starts=int(r["cold_starts"]),
            cold_start_rate=r["cold_start_rate"],
            fn_cold_rate_p50=r["fn_cold_rate_p50"],
            fn_cold_rate_p75=r["fn_cold_rate_p75"],
            fn_always_cold=r["fn_always_cold"],
            wasted_s=r["wasted_s"],
        )
        for r in fixed.iter_rows(named=True)
    ]
    return ModelledColdStarts(
        trace=trace,
        source=src,
        functions=int(fixed["functions"][0]),
        invocations=total_inv,
        windows=windows,
        fixed_table=fixed,
        policies=_policies(db, trace, policy, total_inv),
        policy=policy,
    )


def compute(db: LakeDB, trace: str) -> ColdStartsResult | None:
    """Recorded cold starts, or a modelled keep-alive simulation; None for other traces."""
    src = source_of(db, trace)
    if src == "recorded":
        return _recorded(db, trace)
    if src in ("series", "requests"):
        return _modelled(db, trace, src)
    return None
