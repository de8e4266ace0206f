"""Token lengths, the presentation step: a `TokensResult` -> the section.

numbers (the report JSON's `traces.NAME.tokens`): requests, input_p50, output_p50,
input/output ({n, mean, min, max, p10..p99}), excluded_from_output ({status: requests}),
spearman, ratio ({n, mean, p10..p99}), fits ({side: {model: {params, ks, aic}}}), fit_sample
({side: n}), best_fit ({side: model}), by_service ({service: {input, output}}), sessions (when
recorded) and prefix_reuse (when hash ids exist); keys whose analysis does not apply are left
out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from analysis.presentation import drawable, with_n
from analysis.section import Section
from analysis.tokens import (
    FIT_SAMPLE,
    QUANTILES,
    TOP_SERVICES,
    Fit,
    LengthSide,
    PrefixReuse,
    Sessions,
    Summary,
    TokensResult,
    cdf_points,
    model_cdf,
    quantile_key,
    side_counts,
)

KEY = "tokens"


# ---------------------------------------------------------------- JSON


def _summary_json(s: Summary, with_range: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"n": s.n, "mean": s.mean}
    if with_range:
        out |= {"min": s.min, "max": s.max}
    return out | {quantile_key(p): s.quantile(p) for p in QUANTILES}


def _fit_json(f: Fit) -> dict[str, Any]:
    return {"params": f.params, "ks": f.ks, "aic": f.aic}


def _sessions_json(s: Sessions) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sessions": s.sessions,
        "requests": s.requests,
        "single_turn_share": s.single_turn_share,
        "turns": _summary_json(s.turns),
    }
    if s.gap_s is not None:
        out["gap_s"] = _summary_json(s.gap_s, with_range=False)
    return out


def _reuse_json(r: PrefixReuse) -> dict[str, Any]:
    out: dict[str, Any] = {
        "block_tokens": r.block_tokens,
        "blocks": r.blocks,
        "distinct_blocks": r.new_blocks,
        "reused_blocks": r.reused,
        "share": r.share,
    }
    if r.bucket_s is not None and r.over_time.height > 1:
        out["bucket_s"] = r.bucket_s
        out["over_time"] = [
            {"t_s": row["t_s"], "blocks": row["blocks"], "share": row["share"]}
            for row in r.over_time.to_dicts()
        ]
    return out


def numbers(result: TokensResult) -> dict[str, Any]:
    """The report JSON of the section, from the result's named fields."""
    num: dict[str, Any] = {"requests": result.requests}
    for s in result.sides:
        num[s.side] = _summary_json(s.summary)
        num[f"{s.side}_p50"] = s.summary.p50
    if result.excluded_from_output:
        num["excluded_from_output"] = result.excluded_from_output
    if result.spearman is not None:
        num["spearman"] = result.spearman
    if result.ratio is not None:
        num["ratio"] = _summary_json(result.ratio, with_range=False)
    fitted = [s for s in result.sides if s.fits]
    if fitted:
        num["fits"] = {s.side: {m: _fit_json(f) for m, f in s.fits.items()} for s in fitted}
        num["fit_sample"] = {s.side: s.fit_sample for s in fitted}
        num["best_fit"] = {s.side: s.best_fit for s in fitted if s.best_fit}
    if result.services:
        num["by_service"] = {
            svc.service: {
                side: _summary_json(summary)
                for side, summary in (("input", svc.input), ("output", svc.output))
                if summary is not None
            }
            for svc in result.by_service
        }
    if result.sessions is not None:
        num["sessions"] = _sessions_json(result.sessions)
    if result.prefix_reuse is not None:
        num["prefix_reuse"] = _reuse_json(result.prefix_reuse)
    return num


# ---------------------------------------------------------------- words


def _fmt(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def _strength(rho: float) -> str:
    a = abs(rho)
    word = "barely" if a < 0.1 else "weakly" if a < 0.3 else "moderately" if a < 0.6 else "strongly"
    return word + (" negatively" if rho < 0 and a >= 0.1 else "")


def _best_ks(side: LengthSide) -> float:
    return side.fits[side.best_fit].ks if side.best_fit else float("nan")


def _findings(result: TokensResult) -> list[str]:
    findings: list[str] = []
    i, o = result.input, result.output
    if i is not None and o is not None:
        si, so = i.summary, o.summary
        text = (
            f"Median input is {_fmt(si.p50)} tokens and median output {_fmt(so.p50)} "
            f"(p99 {_fmt(si.p99)} and {_fmt(so.p99)}; means {_fmt(si.mean)} and "
            f"{_fmt(so.mean)})"
        )
        if result.ratio is not None:
            text += f"; the median output/input ratio is {result.ratio.p50:.3g}"
        findings.append(text + ".")
    else:
        for side in result.sides:
            s = side.summary
            findings.append(
                f"Median {side.side} is {_fmt(s.p50)} tokens "
                f"(p99 {_fmt(s.p99)}, mean {_fmt(s.mean)})."
            )
    if result.spearman is not None:
        rho = result.spearman
        findings.append(
            f"Input and output lengths are {_strength(rho)} correlated (Spearman rho = {rho:.2f})."
        )
    best = {s.side: s for s in result.sides if s.fits and s.best_fit}
    if best:
        sides = sorted(best)
        if len(sides) == 2 and best["input"].best_fit == best["output"].best_fit:
            ks = " and ".join(f"{_best_ks(best[s]):.3f}" for s in sides)
            text = f"{best['input'].best_fit} for both input and output lengths (KS {ks})"
        else:
            text = " and ".join(
                f"{best[s].best_fit} for {s} lengths (KS {_best_ks(best[s]):.3f})" for s in sides
            )
        findings.append(f"By AIC the best-fitting model is {text}.")
    reuse = result.prefix_reuse
    if reuse is not None and reuse.share is not None:
        size = f" of {reuse.block_tokens} tokens" if reuse.block_tokens else ""
        text = (
            f"{reuse.share:.1%} of the {reuse.blocks:,} prefix blocks{size} had been seen "
            "earlier in the trace, so at most that share could hit a prefix cache"
        )
        ot = reuse.over_time
        if reuse.bucket_s is not None and ot.height > 2:
            text += (
                f" ({ot['share'][0]:.1%} in the first {reuse.bucket_s:g} s, "
                f"{ot['share'][-1]:.1%} in the last {reuse.bucket_s:g} s)"
            )
        findings.append(text + ".")
    sess = result.sessions
    if sess is not None:
        text = (
            f"{sess.sessions:,} sessions hold {sess.requests:,} requests, a median of "
            f"{_fmt(sess.turns.p50)} turns (max {_fmt(sess.turns.max)})"
        )
        if sess.gap_s is not None and sess.gap_s.p50 is not None:
            text += f"; consecutive turns are a median {_fmt(sess.gap_s.p50)} s apart"
        findings.append(text + ".")
    return findings[:4]


def _notes(result: TokensResult) -> list[str]:
    notes: list[str] = []
    gone = result.excluded_from_output
    if gone:
        what = ", ".join(f"{n:,} {s}" for s, n in sorted(gone.items()))
        notes.append(
            f"Output lengths, the output/input ratio and the correlation leave out {what} "
            "request(s): their outputs are zero or truncated, not generation lengths."
        )
    if not result.sides:
        notes.append("Every request with an output length is unfinished; nothing to measure.")
    if any(s.fits for s in result.sides):
        how = (
            f"on a seeded random sample of {FIT_SAMPLE:,} positive lengths"
            if any(s.sampled for s in result.sides)
            else "on all positive lengths"
        )
        notes.append(
            f"Fits are maximum likelihood with location 0, {how}; best = lowest AIC. Token "
            "counts are integers, so KS distances to continuous models carry a small "
            "discreteness error."
        )
    if result.services > TOP_SERVICES:
        notes.append(
            f"Only the {TOP_SERVICES} busiest of {result.services:,} services are broken down."
        )
    missing = [
        f"{svc.service} ({side})"
        for svc in result.by_service
        for side, s in (("input", svc.input), ("output", svc.output))
        if s is None
    ]
    if missing:
        notes.append(
            "\u2014 in the by-service table: no length recorded for "
            + ", ".join(missing)
            + " (outputs of unfinished requests are left out)."
        )
    res = result.time_resolution_s
    if result.sessions is not None and res and res >= 1 and result.sessions.gap_s is not None:
        notes.append(f"Inter-turn gaps are at the trace's {res:g} s resolution.")
    if result.prefix_reuse is not None:
        notes.append(
            "Prefix reuse counts every repeat of a block as a hit, as an infinite cache that "
            "never evicts would: an upper bound on the prefix-cache hit rate."
        )
    return notes


# ---------------------------------------------------------------- tables


_QUANTILE_COLUMNS = tuple(quantile_key(p) for p in QUANTILES)


def _quantile_row(name: str, s: Summary) -> dict[str, Any]:
    return {"length": name, "n": s.n, "mean": s.mean} | {
        quantile_key(p): s.quantile(p) for p in QUANTILES
    }


def _tables(result: TokensResult) -> dict[str, pl.DataFrame]:
    tables: dict[str, pl.DataFrame] = {}
    schema = {"length": pl.String, "n": pl.Int64, "mean": pl.Float64} | {
        c: pl.Float64 for c in _QUANTILE_COLUMNS
    }
    rows = [_quantile_row(s.side, s.summary) for s in result.sides]
    if rows:
        tables["Token lengths"] = pl.DataFrame(rows, schema=schema)
    # A ratio, not tokens: its own table, so that each column holds one unit and one format.
    if result.ratio is not None:
        tables["Output/input token ratio"] = pl.DataFrame(
            [_quantile_row("output/input", result.ratio)], schema=schema
        ).rename({"length": "ratio"})
    fitted = [s for s in result.sides if s.fits]
    if fitted:
        tables["Distribution fits"] = pl.DataFrame(
            [
                {
                    "length": s.side,
                    "model": m,
                    "ks": f.ks,
                    "aic": f.aic,
                    "best": m == s.best_fit,
                    "params": ", ".join(f"{k}={v:.4g}" for k, v in f.params.items()),
                }
                for s in fitted
                for m, f in s.fits.items()
            ]
        )
    if result.services:
        tables["By service"] = pl.DataFrame(
            [
                {"service": svc.service}
                | {
                    f"{side}_{stat}": getattr(summary, stat) if summary is not None else None
                    for side, summary in (("input", svc.input), ("output", svc.output))
                    for stat in ("n", "p50", "p90")
                }
                for svc in result.by_service
            ],
            schema={"service": pl.String}
            | {
                f"{side}_{stat}": pl.Int64 if stat == "n" else pl.Float64
                for side in ("input", "output")
                for stat in ("n", "p50", "p90")
            },
        ).sort("input_n", "service", descending=[True, False], nulls_last=True)
    return tables


# ---------------------------------------------------------------- figures


def _cdf_layout(fig: go.Figure, title: str) -> go.Figure:
    """The axes of every token length CDF: tokens (log scale) against the share of requests."""
    fig.update_layout(
        title=title,
        xaxis={"title": "tokens per request (log scale)", "type": "log"},
        yaxis={"title": "share of requests", "range": [0, 1]},
        template="plotly_white",
    )
    return fig


COLORS = {"input": "#1f77b4", "output": "#d62728"}


def _cdf_figure(sides: list[LengthSide]) -> go.Figure:
    fig = go.Figure()
    for s in sides:
        x, f = cdf_points(s.values, s.counts)
        fig.add_trace(
            go.Scatter(x=x, y=f, mode="lines", line_shape="hv",
                       name=with_n(f"{s.side} (data)", s.summary.n),
                       line={"color": COLORS[s.side]})
        )  # fmt: skip
        fit = s.fits.get(s.best_fit) if s.best_fit else None
        if fit is not None and x.size:
            xs = x[x > 0]
            fig.add_trace(
                go.Scatter(x=xs, y=model_cdf(fit, xs), mode="lines",
                           name=f"{s.side} ({fit.model} fit)",
                           line={"color": COLORS[s.side], "dash": "dot"})
            )  # fmt: skip
    return _cdf_layout(fig, "Token length CDFs with the best-fitting model")


def _service_figure(by_svc: pl.DataFrame) -> go.Figure:
    fig = go.Figure()
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    for i, svc in enumerate(sorted(by_svc["service"].unique().to_list())):
        part = by_svc.filter(pl.col("service") == svc)
        for side, dash in (("input", "solid"), ("output", "dash")):
            v, c = side_counts(part, side)
            if v.size == 0:
                continue
            x, f = cdf_points(v, c, max_points=200)
            fig.add_trace(
                go.Scatter(x=x, y=f, mode="lines", line_shape="hv",
                           name=with_n(f"{svc} {side}", int(c.sum())),
                           line={"color": palette[i % len(palette)], "dash": dash})
            )  # fmt: skip
    return _cdf_layout(fig, "Token length CDFs by service (solid: input, dashed: output)")


def _io_figure(bins: pl.DataFrame) -> go.Figure:
    mid = np.sqrt(bins["input_min"].to_numpy() * bins["input_max"].to_numpy())
    fig = go.Figure()
    for col, name, dash in (("output_p50", "median", "solid"), ("output_p90", "p90", "dash")):
        fig.add_trace(
            go.Scatter(x=mid, y=bins[col].to_numpy(), mode="lines+markers",
                       name=f"output {name}", line={"dash": dash, "color": "#d62728"},
                       customdata=bins["n"].to_numpy(),
                       hovertemplate="input ~%{x:.0f}: %{y:.0f} tokens (n=%{customdata:,})")
        )  # fmt: skip
    fig.update_layout(
        title="Output length by input length (half-octave input bins)",
        xaxis={"title": "input tokens (log scale)", "type": "log"},
        yaxis={"title": "output tokens (log scale)", "type": "log"},
        template="plotly_white",
    )
    return fig


def _reuse_figure(reuse: PrefixReuse) -> go.Figure:
    df = reuse.over_time
    span = float(df["t_s"].to_numpy().max()) if df.height else 0.0
    unit, per = (
        ("minute", 60.0) if span <= 6 * 3600 else ("hour", 3600.0) if span <= 14 * 86400
        else ("day", 86400.0)
    )  # fmt: skip
    fig = go.Figure(
        go.Bar(x=(df["t_s"] / per).to_numpy(), y=df["share"].to_numpy(), name="reused share",
               customdata=df["blocks"].to_numpy(),
               hovertemplate=f"{unit} %{{x:.1f}}: %{{y:.1%}} of %{{customdata:,}} blocks seen "
               "before")
    )  # fmt: skip
    fig.update_layout(
        title=f"Prefix blocks already seen (infinite cache), per {reuse.bucket_s:g} s",
        xaxis={"title": f"{unit}s since trace start"},
        yaxis={"title": "share of blocks seen before", "range": [0, 1], "tickformat": ".0%"},
        template="plotly_white",
    )
    return fig


def _turns_figure(sess: Sessions) -> go.Figure:
    turns = sess.turns_table
    fig = go.Figure(go.Bar(x=turns["turns"].to_numpy(), y=turns["sessions"].to_numpy()))
    fig.update_layout(
        title=f"Turns per session (n={sess.sessions:,} sessions)",
        xaxis={"title": "requests in the session"},
        yaxis={"title": "sessions"},
        template="plotly_white",
    )
    return fig


def _figures(result: TokensResult) -> list[go.Figure]:
    figures: list[go.Figure] = []
    if result.sides:
        figures.append(_cdf_figure(result.sides))
    if result.output_by_input is not None:
        figures.append(_io_figure(result.output_by_input))
    reuse = result.prefix_reuse
    if reuse is not None and reuse.bucket_s is not None and reuse.over_time.height > 1:
        figures.append(_reuse_figure(reuse))
    if result.sessions is not None:
        figures.append(_turns_figure(result.sessions))
    counts = result.service_counts
    if counts.height and counts["service"].n_unique() > 1:
        figures.append(_service_figure(counts))
    return figures[:4]


def section(result: TokensResult) -> Section:
    """The token-length section of one trace."""
    return Section(
        key=KEY,
        title="Token lengths",
        numbers=numbers(result),
        tables=_tables(result),
        figures=drawable(_figures(result)),
        findings=_findings(result),
        notes=_notes(result),
    )
