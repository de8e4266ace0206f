"""Cold starts, the presentation step: a recorded or modelled result -> the section.

numbers (the report JSON's `traces.NAME.cold_starts`): for recorded cold starts `recorded`,
count, functions, pods, total_s, phases_* and by_<dim>; for modelled ones `modelled`, note,
source, functions, invocations, keepalive (one entry per fixed window), policies (fixed windows
and the adaptive policy on a sample) and adaptive_policy (its parameters).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import polars as pl

from analysis.coldstarts import (
    BASELINE_MIN,
    KEY,
    MAX_EVENTS,
    MAX_FN_EVENTS,
    MAX_FUNCTIONS,
    PHASES,
    RECORDED_DIMS,
    ColdStartGroup,
    ColdStartsResult,
    ModelledColdStarts,
    PolicyComparison,
    RecordedColdStarts,
)
from analysis.failures import bin_text
from analysis.presentation import drawable, time_axis, with_n
from analysis.section import Section

PHASE_NAMES = {
    "pod_alloc": "pod allocation",
    "code_deploy": "code deployment",
    "deps_deploy": "dependency deployment",
    "scheduling": "scheduling",
    "unattributed": "unattributed",
}
MODELLED_NOTE = (
    "Modelled, not measured: the trace does not record cold starts. Each function is one "
    "instance serving its invocations in turn; an invocation is cold when it is the function's "
    "first or comes after the instance was unloaded; wasted memory-time is idle-but-warm time."
)


# ---------------------------------------------------------------- JSON


def _group_json(g: ColdStartGroup) -> dict[str, Any]:
    return {
        "n": g.n,
        "functions": g.functions,
        "pods": g.pods,
        "mean_s": g.mean_s,
        "p50_s": g.p50_s,
        "p90_s": g.p90_s,
        "p99_s": g.p99_s,
        "max_s": g.max_s,
    } | {f"{p}_mean_s": v for p, v in g.phase_mean_s.items()}


def _recorded_json(r: RecordedColdStarts) -> dict[str, Any]:
    o = r.overall
    num: dict[str, Any] = {
        "recorded": True,
        "count": o.n,
        "functions": o.functions,
        "pods": o.pods,
        "total_s": {
            "mean": o.mean_s,
            "p50": o.p50_s,
            "p90": o.p90_s,
            "p99": o.p99_s,
            "max": o.max_s,
        },
        "phases_mean_s": o.phase_mean_s | {"unattributed": o.unattributed_mean_s},
        "phases_share_of_mean": o.phase_share_of_mean,
        "phases_p50_s": o.phase_p50_s,
        "phases_p99_s": o.phase_p99_s,
    }
    for dim, groups in r.by_dim.items():
        num[f"by_{dim}"] = {g.group: _group_json(g) for g in groups}
    return num


def _policies_json(p: PolicyComparison) -> dict[str, Any]:
    out: dict[str, Any] = {
        "functions": p.functions,
        "invocations": p.invocations,
        "share_of_invocations": p.share_of_invocations,
        "memory_known": p.memory_known,
        "wasted_unit": "GB-s" if p.memory_known else "instance-s",
    }
    for o in p.outcomes:
        key = "adaptive" if o.window_min is None else f"fixed_{o.window_min:g}min"
        out[key] = {
            "cold_start_rate": o.cold_start_rate,
            "fn_cold_rate_p50": o.fn_cold_rate_p50,
            "fn_cold_rate_p75": o.fn_cold_rate_p75,
            "wasted_instance_s": o.wasted_s,
            "wasted_vs_fixed_10min": o.wasted_vs_baseline,
        } | ({"wasted_gb_s": o.wasted_gb_s} if p.memory_known else {})
        if o.window_min is None:
            out[key]["histogram_share"] = o.histogram_share
    return out


def _modelled_json(m: ModelledColdStarts) -> dict[str, Any]:
    num: dict[str, Any] = {
        "modelled": True,
        "note": MODELLED_NOTE,
        "source": m.source,
        "functions": m.functions,
        "invocations": m.invocations,
        "keepalive": [
            {
                "window_min": w.window_min,
                "cold_starts": w.cold_starts,
                "cold_start_rate": w.cold_start_rate,
                "fn_cold_rate_p50": w.fn_cold_rate_p50,
                "fn_cold_rate_p75": w.fn_cold_rate_p75,
                "fn_always_cold": w.fn_always_cold,
                "wasted_instance_s": w.wasted_s,
            }
            for w in m.windows
        ],
    }
    if m.policies is not None:
        policy = m.policy
        num["policies"] = _policies_json(m.policies)
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
    return num


def numbers(result: ColdStartsResult) -> dict[str, Any]:
    """The report JSON of the section, from the result's named fields."""
    if isinstance(result, RecordedColdStarts):
        return _recorded_json(result)
    return _modelled_json(result)


# ---------------------------------------------------------------- figures


def _fig_breakdown(groups: list[tuple[str, ColdStartGroup]]) -> go.Figure:
    fig = go.Figure()
    labels = [with_n(label, g.n) for label, g in groups]
    for phase in (*PHASES, "unattributed"):
        y = [
            max(
                (g.unattributed_mean_s if phase == "unattributed" else g.phase_mean_s[phase])
                or 0.0,
                0.0,
            )
            for _, g in groups
        ]
        fig.add_bar(x=labels, y=y, name=PHASE_NAMES[phase])
    fig.update_layout(
        barmode="stack",
        template="plotly_white",
        title="Mean recorded cold start by phase",
        xaxis_title="group (n = cold starts)",
        yaxis_title="mean time (s)",
    )
    return fig


def _fig_cdf(cdf: pl.DataFrame, n: int) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(
        x=cdf["total_s"].to_list(), y=cdf["cdf"].to_list(), mode="lines", name=with_n("total", n)
    )
    fig.update_layout(
        template="plotly_white",
        title=f"Recorded cold-start time (CDF, n={n:,})",
        xaxis_title="cold-start time (s, log scale)",
        xaxis_type="log",
        yaxis_title="fraction of cold starts",
    )
    return fig


def _bin_starts(ot: pl.DataFrame) -> pl.Series:
    return pl.from_epoch(
        (ot["bin_start"] * 1e6).cast(pl.Int64), time_unit="us"
    ).dt.replace_time_zone("UTC")


def _fig_recorded_time(ot: pl.DataFrame, time_origin: str) -> go.Figure:
    fig = go.Figure()
    x, x_title = time_axis(_bin_starts(ot), time_origin)
    fig.add_bar(x=x, y=ot["n"].to_list(), name="cold starts")
    width = bin_text(float(ot["bin_s"][0]))
    fig.update_layout(
        template="plotly_white",
        title=f"Recorded cold starts per {width}",
        xaxis_title=x_title,
        yaxis_title=f"cold starts per {width}",
    )
    return fig


def _over_time_table(ot: pl.DataFrame, time_origin: str) -> pl.DataFrame:
    starts = _bin_starts(ot)
    if time_origin == "absolute":
        return ot.with_columns(starts.alias("bin_start"))
    x, title = time_axis(starts, time_origin)
    return ot.drop("bin_start").insert_column(1, pl.Series(title.split(" ")[0] + "_since_start", x))


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


def _fig_pareto(p: PolicyComparison, unit: str) -> go.Figure:
    fig = go.Figure()
    fixed = [o for o in p.outcomes if o.window_min is not None]
    adaptive = p.adaptive
    fig.add_scatter(
        x=[o.wasted_vs_baseline for o in fixed],
        y=[o.fn_cold_rate_p75 for o in fixed],
        mode="lines+markers+text",
        text=[f"{o.window_min:g} min" for o in fixed],
        textposition="top right",
        name="fixed keep-alive",
    )
    fig.add_scatter(
        x=[adaptive.wasted_vs_baseline],
        y=[adaptive.fn_cold_rate_p75],
        mode="markers+text",
        text=["adaptive"],
        textposition="bottom right",
        marker={"size": 12, "symbol": "star"},
        name="hybrid histogram (adaptive)",
    )
    fig.update_layout(
        template="plotly_white",
        title=f"Modelled trade-off: cold starts vs wasted memory-time "
        f"(n={p.functions:,} sampled functions)",
        xaxis_title=f"wasted memory-time ({unit}), relative to fixed {p.baseline_min:g} min",
        yaxis_title="75th-percentile per-function cold-start rate (modelled)",
        yaxis_tickformat=".0%",
    )
    return fig


# ---------------------------------------------------------------- sections


def _recorded_section(r: RecordedColdStarts) -> Section:
    o = r.overall
    sec = Section(key=KEY, title="Cold starts (recorded)", numbers=_recorded_json(r))
    sec.tables.update(r.tables)
    groups: list[tuple[str, ColdStartGroup]] = [("all", o)]
    for dim, named in r.by_dim.items():
        groups += [(f"{dim} {g.group}", g) for g in named if g.group != "(unknown)"]
    sec.figures.append(_fig_breakdown(groups[:40]))
    if not r.cdf.is_empty():
        sec.figures.append(_fig_cdf(r.cdf, o.n))
    if r.over_time is not None:
        sec.tables["over_time"] = _over_time_table(r.over_time, r.time_origin)
        sec.figures.append(_fig_recorded_time(r.over_time, r.time_origin))
    means = o.phase_mean_s
    shares = o.phase_share_of_mean
    sec.findings.append(
        f"{o.n:,} recorded cold starts of {o.functions:,} functions took {o.mean_s or 0.0:.2f} s "
        f"on average (median {o.p50_s or 0.0:.2f} s, p99 {o.p99_s or 0.0:.2f} s)."
    )
    if shares:
        top = max(means, key=lambda p: means[p] or 0.0)
        sec.findings.append(
            f"{PHASE_NAMES[top].capitalize()} is the largest phase: {shares[top]:.0%} of the mean "
            f"cold start ({means[top] or 0.0:.2f} s); "
            + ", ".join(f"{PHASE_NAMES[p]} {shares[p]:.0%}" for p in PHASES if p != top)
            + "."
        )
    for dim in RECORDED_DIMS:
        named = [
            g for g in r.by_dim.get(dim, []) if g.group != "(unknown)" and g.mean_s is not None
        ]
        if len(named) >= 2:
            lo = min(named, key=lambda g: g.mean_s or 0.0)
            hi = max(named, key=lambda g: g.mean_s or 0.0)
            sec.findings.append(
                f"By {dim}, mean cold start ranges from {lo.mean_s:.2f} s ({lo.group}) to "
                f"{hi.mean_s:.2f} s ({hi.group})."
            )
            break
    sec.notes.append(
        "No pod utility ratio: the cold-start records carry no pod lifetimes (only the pod id), "
        "so the share of a pod's life spent serving requests cannot be computed."
    )
    rest = o.unattributed_mean_s
    if rest is not None and abs(rest) > 1e-6 * max(o.mean_s or 0.0, 1.0):
        sec.notes.append(
            f"The phases do not add up to the total: {rest:.3f} s of the mean is "
            "unattributed (or phases are missing for some records)."
        )
    return sec


def _modelled_section(m: ModelledColdStarts) -> Section:
    sec = Section(
        key=KEY, title="Cold starts (modelled: keep-alive simulation)", numbers=_modelled_json(m)
    )
    p = m.policies
    has_mem = p is not None and p.memory_known
    sec.tables["keepalive_fixed_modelled"] = m.fixed_table
    if p is not None:
        sec.tables["policies_on_sample_modelled"] = p.table
    sec.figures.append(_fig_rate(m.fixed_table))
    sec.figures.append(_fig_wasted(m.fixed_table))
    if p is not None and any(o.wasted_vs_baseline is not None for o in p.outcomes):
        sec.figures.append(_fig_pareto(p, "GB-s" if has_mem else "instance-s"))

    base = m.window(float(BASELINE_MIN)) or m.windows[0]
    p75 = base.fn_cold_rate_p75
    if p75 >= 1.0 and base.fn_always_cold is not None:
        # Say the exact share rather than "a quarter" (what p75 = 100% guarantees).
        who = (
            f"{base.fn_always_cold:.0%} of the {m.functions:,} functions start cold on every "
            "invocation"
        )
    else:
        who = (
            f"a quarter of the {m.functions:,} functions start cold on at least "
            f"{p75:.0%} of their invocations"
        )
    sec.findings.append(
        f"Modelled: with a fixed {base.window_min:g}-minute keep-alive, "
        f"{base.cold_start_rate:.2%} of {m.invocations:,.0f} invocations start cold, but {who}."
    )
    long_w = m.window(60.0)
    if long_w and base.cold_starts and base.wasted_s:
        sec.findings.append(
            f"Modelled: a 60-minute keep-alive instead of {base.window_min:g} cuts cold starts "
            f"by {1 - long_w.cold_starts / base.cold_starts:.0%} for "
            f"{long_w.wasted_s / base.wasted_s:.1f}x the wasted warm time."
        )
    fb = p.fixed(base.window_min) if p is not None else None
    if p is not None and fb is not None:
        ad = p.adaptive
        unit = "memory-time (GB-s)" if has_mem else "warm time"
        # No ratio when the fixed window wastes nothing (e.g. one invocation per function).
        cost = (
            f"{ad.wasted_vs_baseline:.2f}x the wasted {unit}"
            if ad.wasted_vs_baseline is not None
            else f"no ratio of wasted {unit} (the fixed window wastes none)"
        )
        sec.findings.append(
            f"Modelled on {p.functions:,} sampled functions: the adaptive histogram policy "
            f"gives a 75th-percentile per-function cold-start rate of {ad.fn_cold_rate_p75:.0%} "
            f"(fixed {base.window_min:g} min: {fb.fn_cold_rate_p75:.0%}) with {cost}."
        )
    sec.notes.append(MODELLED_NOTE)
    if m.source == "series":
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
    if p is not None and any(o.wasted_vs_baseline is None for o in p.outcomes):
        sec.notes.append(
            f"\u2014 for wasted_vs_fixed_{p.baseline_min:g}min: the fixed "
            f"{p.baseline_min:g}-minute window wastes no memory-time on the sample, so there is "
            "nothing to compare with."
        )
    return sec


def section(result: ColdStartsResult) -> Section:
    """The cold-start section of one trace, recorded or modelled."""
    if isinstance(result, RecordedColdStarts):
        sec = _recorded_section(result)
    else:
        sec = _modelled_section(result)
    sec.figures = drawable(sec.figures)
    return sec


__all__ = ["MODELLED_NOTE", "PHASE_NAMES", "numbers", "section"]
