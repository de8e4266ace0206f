"""Arrivals and burstiness, the presentation step: a `BurstinessResult` -> the section.

numbers (the report JSON's `traces.NAME.burstiness`): source, events, span_s, rate_per_s,
resolution_s (the declared clock), effective_resolution_s (the clock every measure respects:
resolution_s, or the batch period when the timestamps are batched), idc ({window: IDC}),
hurst ({aggregated_variance, rescaled_range}), hurst_bin_s, periodicity, and for timestamped
arrivals iat_cv, gap_mean_s, tied_gaps_share, best_fit, fits, fit_*; by_<dim> for the largest
groups. Floats are rounded to 6 significant digits (`presentation.rounded`) so that the JSON
is the same for the same lake.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from analysis import arrival_stats as st
from analysis.burstiness import (
    GROUP_CENSORED_SAMPLE,
    MIN_RESOLUTION_S,
    TOP_GROUPS,
    Burstiness,
    BurstinessResult,
    idc_verdicts,
    idc_windows,
)
from analysis.presentation import drawable, rounded, with_n
from analysis.section import Section

KEY = "burstiness"
# A best fit whose KS distance exceeds this is reported as the best of poor fits.
POOR_KS = 0.1
CCDF_POINTS = 300
# The lags behind each cycle check, in words (see arrival_stats.CYCLES).
CYCLE_LAGS = {"daily": ("24 h", "12 h"), "weekly": ("7 d", "3-4 d")}
# Hurst above this by both estimators is reported as long-range dependence: simulated Poisson
# arrivals scatter by ~0.02 around 0.5 (see the property tests).
LRD_HURST = 0.6
SPAN_TOO_SHORT = "span too short"


# ---------------------------------------------------------------- JSON


def _key(w: float) -> str:
    return f"{w:g}"


def _periodicity_json(p: st.Periodicity) -> dict[str, Any]:
    cycles: dict[str, Any] = {
        name: SPAN_TOO_SHORT
        if c is None
        else {"acf": c.acf, "acf_reference": c.acf_reference, "detected": c.detected}
        for name, c in p.cycles.items()
    }
    return {
        "bin_s": p.bin_s,
        "top_periods_s": p.top_periods_s,
        "top_power_share": p.top_power_share,
        **cycles,
    }


def _fit_json(f: st.Fit) -> dict[str, Any]:
    return {"params": f.params, "ks": f.ks, "aic": f.aic}


def burstiness_json(b: Burstiness) -> dict[str, Any]:
    """The JSON of one trace's (or group's) burstiness, rounded (see the module docstring)."""
    s = b.summary
    out: dict[str, Any] = {
        "source": b.source.label,
        "events": round(s.events),
        "span_s": s.span_s,
        "rate_per_s": s.rate_per_s,
        "resolution_s": s.declared_s,
        "effective_resolution_s": s.resolution_s,
        "idc": {_key(w): v for w, v in sorted(b.idc.items())},
        "hurst": {
            "aggregated_variance": b.hurst_aggregated_variance,
            "rescaled_range": b.hurst_rescaled_range,
        },
        "hurst_bin_s": b.hurst_bin_s,
    }
    if b.periodicity is not None:
        out["periodicity"] = _periodicity_json(b.periodicity)
    if b.source.counts_only:
        out["counts_only"] = True
        return rounded(out)
    out["iat_cv"] = b.iat_cv
    out["gap_mean_s"] = s.gap_mean
    out["tied_gaps_share"] = s.ties / s.gaps if s.gaps else None
    if b.fits is not None:
        if b.fits.best is not None:
            out["best_fit"] = b.fits.best
            out["fits"] = {k: _fit_json(f) for k, f in sorted(b.fits.fits.items())}
        out["fit_sample"] = b.fits.sample
        out["fit_method"] = b.fits.method
        if b.fits.censored:
            out["fit_censored"] = b.fits.censored
        if b.fits.refused:
            out["fit_refused"] = b.fits.refused
    return rounded(out)


def _group_json(g: Burstiness, total: float) -> dict[str, Any]:
    n = burstiness_json(g)
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
    return rounded(out)


def numbers(result: BurstinessResult) -> dict[str, Any]:
    """The report JSON of the section, from the result's named fields."""
    out = burstiness_json(result.overall)
    total = result.overall.summary.events
    for dim, named in result.groups.items():
        out[f"by_{dim}"] = {name: _group_json(g, total) for name, g in sorted(named.items())}
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
        clock = human_s(max(s.declared_s, MIN_RESOLUTION_S))
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
    cycles = [(n, c) for n, c in p.cycles.items() if c is not None]
    if not cycles:
        return (
            f"the {human_s(result.summary.span_s)} span is too short to check daily or weekly "
            "cycles (two full periods needed)"
        )
    parts = []
    for name, c in cycles:
        lag, reference = CYCLE_LAGS[name]
        state = "a" if c.detected else "no clear"
        parts.append(
            f"{state} {name} cycle (ACF {c.acf:.2f} at {lag}, {c.acf_reference:.2f} at {reference})"
        )
    text = " and ".join(parts)
    if "weekly" in p.cycles and p.cycles["weekly"] is None:
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


def _label(name: str, part: Burstiness) -> str:
    """A legend entry: the (shortened) group name and its arrivals."""
    return with_n(name if len(name) <= 16 else name[:12] + "…", part.summary.events)


def _rate_display(b: Burstiness) -> pl.DataFrame:
    """The rate table as shown: relative traces by offset only, never 1970 dates."""
    return b.rate if _absolute(b) else b.rate.drop("start")


def _figures(result: Burstiness, groups: dict[str, dict[str, Burstiness]]) -> list[go.Figure]:
    figs = []
    main_dim = next(iter(groups), None)
    rb = float(result.rate["offset_s"][1]) if result.rate.height > 1 else 0.0
    fig = go.Figure()
    rate = result.rate["rate_per_s"].to_list()
    name_all = _label("all", result)
    fig.add_trace(go.Scatter(x=_x(result, result), y=rate, name=name_all, mode="lines"))
    if main_dim:
        for name, g in groups[main_dim].items():
            y = g.rate["rate_per_s"].to_list()
            fig.add_trace(go.Scatter(x=_x(result, g), y=y, name=_label(name, g), mode="lines"))
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
        parts = [(name_all, result)]
        if main_dim:
            parts += [(_label(name, g), g) for name, g in groups[main_dim].items()]
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
                    "window": human_s(w),
                    "idc": r.idc[w],
                    "windows": r.idc_windows[w],
                    "vs_poisson": verdicts.get(w),
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "scope": pl.String,
            "window": pl.String,
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
    elif s.batch_s is not None:
        noun = "jobs" if result.source.table == "jobs" else "requests"
        notes.append(
            f"Timestamps are effectively batched every {human_s(r)} "
            f"({s.distinct_instants:,} distinct instants for {round(s.events):,} {noun}; "
            f"{s.ties / s.gaps:.1%} of gaps are 0 at the declared "
            f"{human_s(max(s.declared_s, MIN_RESOLUTION_S))} clock and the others are whole "
            f"numbers of {human_s(r)}, within {st.BATCH_TOLERANCE:.0%}): nothing finer is "
            f"concluded. {human_s(r)} is the clock of every window, bin, Hurst and "
            "autocorrelation count and inter-arrival fit below."
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
    notes += _missing_notes(result, groups)
    return notes


def _missing_notes(result: Burstiness, groups: dict[str, dict[str, Burstiness]]) -> list[str]:
    """Why a value shows as an em dash: Hurst exponents, CVs and fits that do not exist."""
    out = []
    if result.fits is not None and "exponential" in result.fits.fits:
        out.append("\u2014 for the shape of the exponential fit: it has a scale only.")
    if result.hurst_undefined:
        out.append(f"No Hurst exponent for the trace: {result.hurst_undefined}.")
    parts = [(f"{dim} {name}", g) for dim, named in groups.items() for name, g in named.items()]
    hurst = [f"{label} ({g.hurst_undefined})" for label, g in parts if g.hurst_undefined]
    if hurst:
        out.append("\u2014 for hurst_av / hurst_rs of " + "; ".join(hurst) + ".")
    no_cv = [label for label, g in parts if not math.isfinite(g.iat_cv)]
    if no_cv and not result.source.counts_only:
        out.append("\u2014 for iat_cv of " + ", ".join(no_cv) + ": fewer than two gaps.")
    elif no_cv:
        out.append(
            "\u2014 for iat_cv and best_fit: the trace records counts per interval, not "
            "arrival times."
        )
    no_fit = [
        f"{label} ({g.fits.refused})"
        for label, g in parts
        if g.fits is not None and g.fits.best is None and g.fits.refused
    ]
    if no_fit:
        out.append("\u2014 for best_fit of " + "; ".join(no_fit) + ".")
    return out


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


def group_section(b: Burstiness) -> Section:
    """The section of one (dim, value) group of a trace (`burstiness.compute_group`)."""
    tables: dict[str, pl.DataFrame] = {
        "Index of dispersion by window": _idc_table(b, {}),
        "Arrival rate over time": _rate_display(b),
    }
    if b.fits is not None and b.fits.fits:
        tables["Inter-arrival fits"] = _fit_table(b.fits)
    group = b.group or ("", "")
    return Section(
        key=KEY,
        title=f"Arrivals and burstiness of {group[0]} {group[1]}",
        numbers=burstiness_json(b),
        tables=tables,
        figures=_figures(b, {}),
        findings=_findings(b),
        notes=_notes(b, {}),
    )


def section(result: BurstinessResult) -> Section:
    """Arrivals and burstiness of one trace and its largest groups."""
    b, groups = result.overall, result.groups
    tables: dict[str, pl.DataFrame] = {
        "Index of dispersion by window": _idc_table(b, groups),
        "Arrival rate over time": _rate_display(b),
    }
    if b.fits is not None and b.fits.fits:
        tables["Inter-arrival fits"] = _fit_table(b.fits)
    if groups:
        tables["Largest groups"] = _group_table(groups, b.summary.events)
    return Section(
        key=KEY,
        title="Arrivals and burstiness",
        numbers=numbers(result),
        tables=tables,
        figures=drawable(_figures(b, groups)),
        findings=_findings(b),
        notes=_notes(b, groups),
    )
