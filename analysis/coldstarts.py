"""Cold starts: recorded where a trace records them, modelled by keep-alive simulation where not.

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
import plotly.graph_objects as go
import polars as pl

from analysis.db import LakeDB
from analysis.db import rounded_table as rounded_table  # re-exported
from analysis.failures import bin_text
from analysis.section import Section

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
MODELLED_NOTE = (
    "Modelled, not measured: the trace does not record cold starts. Each function is one "
    "instance serving its invocations in turn; an invocation is cold when it is the function's "
    "first or comes after the instance was unloaded; wasted memory-time is idle-but-warm time."
)

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


# ---------------------------------------------------------------- figures


def _fig_breakdown(groups: list[tuple[str, dict[str, Any]]]) -> go.Figure:
    fig = go.Figure()
    labels = [g for g, _ in groups]
    for phase in (*PHASES, "unattributed"):
        fig.add_bar(
            x=labels,
            y=[max(r.get(f"{phase}_mean_s") or 0.0, 0.0) for _, r in groups],
            name=PHASE_NAMES[phase],
        )
    fig.update_layout(
        barmode="stack",
        template="plotly_white",
        title="Mean recorded cold start by phase",
        xaxis_title="group",
        yaxis_title="mean time (s)",
    )
    return fig


def _fig_cdf(cdf: pl.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(x=cdf["total_s"].to_list(), y=cdf["cdf"].to_list(), mode="lines", name="total")
    fig.update_layout(
        template="plotly_white",
        title="Recorded cold-start time (CDF)",
        xaxis_title="cold-start time (s, log scale)",
        xaxis_type="log",
        yaxis_title="fraction of cold starts",
    )
    return fig


def _fig_recorded_time(ot: pl.DataFrame, relative: bool) -> go.Figure:
    fig = go.Figure()
    x = pl.from_epoch((ot["bin_start"] * 1e6).cast(pl.Int64), time_unit="us").to_list()
    fig.add_bar(x=x, y=ot["n"].to_list(), name="cold starts")
    width = bin_text(float(ot["bin_s"][0]))
    fig.update_layout(
        template="plotly_white",
        title=f"Recorded cold starts per {width}",
        xaxis_title="time (UTC" + (", relative to the trace start" if relative else "") + ")",
        yaxis_title=f"cold starts per {width}",
    )
    return fig


def _fig_vs_window(
    fixed: pl.DataFrame, curves: dict[str, pl.Series], title: str, y_title: str, **layout: Any
) -> go.Figure:
    """Curves (name -> one value per window) against the fixed keep-alive window."""
    fig = go.Figure()
    x = fixed["window_min"].to_list()
    for name, y in curves.items():
        fig.add_scatter(x=x, y=y.to_list(), mode="lines+markers", name=name)
    fig.update_layout(
        template="plotly_white",
        title=title,
        xaxis_title="keep-alive window (min, log scale)",
        xaxis_type="log",
        yaxis_title=y_title,
        **layout,
    )
    return fig


def _fig_rate(fixed: pl.DataFrame) -> go.Figure:
    return _fig_vs_window(
        fixed,
        {
            "all invocations": fixed["cold_start_rate"],
            "per function, median": fixed["fn_cold_rate_p50"],
            "per function, 75th percentile": fixed["fn_cold_rate_p75"],
        },
        "Modelled cold-start rate vs fixed keep-alive window",
        "cold starts / invocations (modelled)",
        yaxis_tickformat=".0%",
    )


def _fig_wasted(fixed: pl.DataFrame) -> go.Figure:
    return _fig_vs_window(
        fixed,
        {"wasted": fixed["wasted_s"] / 3600.0},
        "Modelled wasted warm time vs fixed keep-alive window",
        "idle-but-warm instance-hours (modelled)",
    )


def _fig_pareto(comp: pl.DataFrame, norm_col: str, unit: str) -> go.Figure:
    fig = go.Figure()
    fixed = comp.filter(pl.col("window_min").is_not_null())
    adaptive = comp.filter(pl.col("window_min").is_null())
    fig.add_scatter(
        x=fixed[norm_col].to_list(),
        y=fixed["fn_cold_rate_p75"].to_list(),
        mode="lines+markers+text",
        text=[f"{w:g} min" for w in fixed["window_min"].to_list()],
        textposition="top right",
        name="fixed keep-alive",
    )
    fig.add_scatter(
        x=adaptive[norm_col].to_list(),
        y=adaptive["fn_cold_rate_p75"].to_list(),
        mode="markers+text",
        text=["adaptive"],
        textposition="bottom right",
        marker={"size": 12, "symbol": "star"},
        name="hybrid histogram (adaptive)",
    )
    fig.update_layout(
        template="plotly_white",
        title="Modelled trade-off: cold starts vs wasted memory-time (sampled functions)",
        xaxis_title=f"wasted memory-time ({unit}), relative to fixed {BASELINE_MIN} min",
        yaxis_title="75th-percentile per-function cold-start rate (modelled)",
        yaxis_tickformat=".0%",
    )
    return fig


# ---------------------------------------------------------------- section


def _stats(r: dict[str, Any]) -> dict[str, Any]:
    return {
        k: r[k] for k in ("n", "functions", "pods", "mean_s", "p50_s", "p90_s", "p99_s", "max_s")
    } | {f"{p}_mean_s": r[f"{p}_mean_s"] for p in PHASES}


def _recorded_section(db: LakeDB, trace: str) -> Section | None:
    overall = recorded(db, trace, "all")
    if overall.is_empty() or overall["n"][0] == 0:
        return None
    r = overall.row(0, named=True)
    phase_means = {p: r[f"{p}_mean_s"] for p in PHASES}
    known = [v for v in phase_means.values() if v is not None]
    unattributed = r["mean_s"] - sum(known) if r["mean_s"] is not None else None
    shares = {p: (v or 0.0) / r["mean_s"] for p, v in phase_means.items()} if r["mean_s"] else {}
    num: dict[str, Any] = {
        "recorded": True,
        "count": r["n"],
        "functions": r["functions"],
        "pods": r["pods"],
        "total_s": {k[:-2]: r[k] for k in ("mean_s", "p50_s", "p90_s", "p99_s", "max_s")},
        "phases_mean_s": phase_means | {"unattributed": unattributed},
        "phases_share_of_mean": shares,
        "phases_p50_s": {p: r[f"{p}_p50_s"] for p in PHASES},
        "phases_p99_s": {p: r[f"{p}_p99_s"] for p in PHASES},
    }
    sec = Section(key=KEY, title="Cold starts (recorded)", numbers=num)
    sec.tables["overall"] = overall
    groups: list[tuple[str, dict[str, Any]]] = [("all", r | {"unattributed_mean_s": unattributed})]
    for dim in RECORDED_DIMS:
        t = recorded(db, trace, dim)
        if t.is_empty() or (t.height == 1 and t["grp"][0] == "(unknown)"):
            continue
        num[f"by_{dim}"] = {g["grp"]: _stats(g) for g in t.iter_rows(named=True)}
        sec.tables[f"by_{dim}"] = t
        for g in t.iter_rows(named=True):
            if g["grp"] != "(unknown)":
                rest = g["mean_s"] - sum(g[f"{p}_mean_s"] or 0.0 for p in PHASES)
                groups.append((f"{dim} {g['grp']}", g | {"unattributed_mean_s": rest}))
    sec.figures.append(_fig_breakdown(groups[:40]))
    cdf = db.query_rounded("coldstarts_recorded_cdf", trace=trace, points=1000)
    if not cdf.is_empty():
        sec.figures.append(_fig_cdf(cdf))
    ot = recorded_over_time(db, trace)
    if not ot.is_empty():
        sec.tables["over_time"] = ot
        sec.figures.append(_fig_recorded_time(ot, db.info(trace).time_origin != "absolute"))
    top = max(phase_means, key=lambda p: phase_means[p] or 0.0)
    sec.findings.append(
        f"{r['n']:,} recorded cold starts of {r['functions']:,} functions took {r['mean_s']:.2f} s "
        f"on average (median {r['p50_s']:.2f} s, p99 {r['p99_s']:.2f} s)."
    )
    if shares:
        sec.findings.append(
            f"{PHASE_NAMES[top].capitalize()} is the largest phase: {shares[top]:.0%} of the mean "
            f"cold start ({phase_means[top]:.2f} s); "
            + ", ".join(f"{PHASE_NAMES[p]} {shares[p]:.0%}" for p in PHASES if p != top)
            + "."
        )
    for dim in RECORDED_DIMS:
        by = num.get(f"by_{dim}", {})
        named = {g: v for g, v in by.items() if g != "(unknown)"}
        if len(named) >= 2:
            lo = min(named, key=lambda g: named[g]["mean_s"])
            hi = max(named, key=lambda g: named[g]["mean_s"])
            sec.findings.append(
                f"By {dim}, mean cold start ranges from {named[lo]['mean_s']:.2f} s ({lo}) to "
                f"{named[hi]['mean_s']:.2f} s ({hi})."
            )
            break
    sec.notes.append(
        "No pod utility ratio: the cold-start records carry no pod lifetimes (only the pod id), "
        "so the share of a pod's life spent serving requests cannot be computed."
    )
    if unattributed is not None and abs(unattributed) > 1e-6 * max(r["mean_s"], 1.0):
        sec.notes.append(
            f"The phases do not add up to the total: {unattributed:.3f} s of the mean is "
            "unattributed (or phases are missing for some records)."
        )
    return sec


def _modelled_section(db: LakeDB, trace: str) -> Section | None:
    fixed = keepalive_fixed(db, trace)
    if fixed.is_empty() or not fixed["invocations"][0]:
        return None
    src = source_of(db, trace)
    policy = HistogramPolicy()
    comp = compare_policies(db, trace, policy=policy)
    norm_col = next((c for c in comp.columns if c.startswith("wasted_vs_fixed_")), "")
    has_mem = not comp.is_empty() and comp["wasted_gb_s"].null_count() < comp.height
    total_inv = float(fixed["invocations"][0])
    num: dict[str, Any] = {
        "modelled": True,
        "note": MODELLED_NOTE,
        "source": src,
        "functions": int(fixed["functions"][0]),
        "invocations": total_inv,
        "keepalive": [
            {
                "window_min": r["window_min"],
                "cold_starts": r["cold_starts"],
                "cold_start_rate": r["cold_start_rate"],
                "fn_cold_rate_p50": r["fn_cold_rate_p50"],
                "fn_cold_rate_p75": r["fn_cold_rate_p75"],
                "fn_always_cold": r["fn_always_cold"],
                "wasted_instance_s": r["wasted_s"],
            }
            for r in fixed.iter_rows(named=True)
        ],
    }
    if not comp.is_empty():
        sample_inv = float(comp["invocations"][0])
        policies: dict[str, Any] = {
            "functions": int(comp["functions"][0]),
            "invocations": sample_inv,
            "share_of_invocations": sample_inv / total_inv,
            "memory_known": has_mem,
            "wasted_unit": "GB-s" if has_mem else "instance-s",
        }
        for r in comp.iter_rows(named=True):
            key = "adaptive" if r["window_min"] is None else f"fixed_{r['window_min']:g}min"
            policies[key] = {
                "cold_start_rate": r["cold_start_rate"],
                "fn_cold_rate_p50": r["fn_cold_rate_p50"],
                "fn_cold_rate_p75": r["fn_cold_rate_p75"],
                "wasted_instance_s": r["wasted_s"],
                "wasted_vs_fixed_10min": r[norm_col],
            } | ({"wasted_gb_s": r["wasted_gb_s"]} if has_mem else {})
            if r["window_min"] is None:
                policies[key]["histogram_share"] = r["histogram_share"]
        num["policies"] = policies
        num["adaptive_policy"] = {
            "bin_s": policy.bin_s,
            "range_s": policy.range_s,
            "prewarm_percentile": policy.head,
            "keepalive_percentile": policy.tail,
            "margin": policy.margin,
            "cv_threshold": policy.cv_threshold,
            "oob_threshold": policy.oob_threshold,
            "fallback_keepalive_s": policy.fallback,
        }

    sec = Section(key=KEY, title="Cold starts (modelled: keep-alive simulation)", numbers=num)
    sec.tables["keepalive_fixed_modelled"] = fixed
    if not comp.is_empty():
        sec.tables["policies_on_sample_modelled"] = comp
    sec.figures.append(_fig_rate(fixed))
    sec.figures.append(_fig_wasted(fixed))
    if not comp.is_empty():
        sec.figures.append(_fig_pareto(comp, norm_col, "GB-s" if has_mem else "instance-s"))

    by_w = {r["window_min"]: r for r in fixed.iter_rows(named=True)}
    base = by_w.get(float(BASELINE_MIN)) or next(iter(by_w.values()))
    p75 = base["fn_cold_rate_p75"]
    always = base.get("fn_always_cold")
    if p75 >= 1.0 and always is not None:
        # Say the exact share rather than "a quarter" (what p75 = 100% guarantees).
        who = f"{always:.0%} of the {num['functions']:,} functions start cold on every invocation"
    else:
        who = (
            f"a quarter of the {num['functions']:,} functions start cold on at least "
            f"{p75:.0%} of their invocations"
        )
    sec.findings.append(
        f"Modelled: with a fixed {base['window_min']:g}-minute keep-alive, "
        f"{base['cold_start_rate']:.2%} of {total_inv:,.0f} invocations start cold, but {who}."
    )
    long_w = by_w.get(60.0)
    if long_w and base["cold_starts"] and base["wasted_s"]:
        sec.findings.append(
            f"Modelled: a 60-minute keep-alive instead of {base['window_min']:g} cuts cold starts "
            f"by {1 - long_w['cold_starts'] / base['cold_starts']:.0%} for "
            f"{long_w['wasted_s'] / base['wasted_s']:.1f}x the wasted warm time."
        )
    if not comp.is_empty():
        ad = comp.filter(pl.col("window_min").is_null()).row(0, named=True)
        fb = comp.filter(pl.col("window_min") == base["window_min"]).row(0, named=True)
        unit = "memory-time (GB-s)" if has_mem else "warm time"
        sec.findings.append(
            f"Modelled on {ad['functions']:,} sampled functions: the adaptive histogram policy "
            f"gives a 75th-percentile per-function cold-start rate of {ad['fn_cold_rate_p75']:.0%} "
            f"(fixed {base['window_min']:g} min: {fb['fn_cold_rate_p75']:.0%}) with "
            f"{ad[norm_col]:.2f}x the wasted {unit}."
        )
    sec.notes.append(MODELLED_NOTE)
    if src == "series":
        sec.notes.append(
            "Per-interval counts only: invocations are taken to arrive at the start of their "
            "interval and take no time, so idle times are multiples of the interval and windows "
            "shorter than it cannot be told apart."
        )
    else:
        sec.notes.append(
            "Idle time runs from the end of the latest earlier invocation of the same function "
            "(arrival + duration) to the next arrival; overlapping invocations reuse the one "
            "instance (concurrency is ignored)."
        )
    sec.notes.append(
        "Adaptive policy (Shahrad et al., ATC'20 hybrid histogram), simplified: per function, "
        "online; 1-minute bins over 4 h; pre-warm at the 5th and unload at the 99th percentile "
        "with 10% margins when the bin-count CV >= 2 and under half the idle times exceed 4 h, "
        "else a fixed 4-hour keep-alive (the paper's ARIMA branch is replaced by this fallback). "
        f"It runs on a deterministic sample (MD5 order of function ids, at most {MAX_FUNCTIONS:,} "
        f"functions and {MAX_EVENTS:,} arrivals, the first {MAX_FN_EVENTS:,} per function), with "
        "the fixed windows recomputed on the same sample."
    )
    if not has_mem:
        sec.notes.append(
            "Function memory is unknown, so wasted memory-time is in instance-seconds."
        )
    else:
        sec.notes.append(
            "Wasted GB-s weigh each function's idle-but-warm time by its published mean "
            "allocated memory (on the replayed sample); the all-function table is in "
            "instance-seconds."
        )
    return sec


def section(db: LakeDB, trace: str) -> Section | None:
    """Recorded cold starts, or a modelled keep-alive simulation; None for other traces."""
    src = source_of(db, trace)
    if src == "recorded":
        return _recorded_section(db, trace)
    if src in ("series", "requests"):
        return _modelled_section(db, trace)
    return None
