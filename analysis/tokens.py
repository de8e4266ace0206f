"""Token lengths of LLM requests: distributions, fits, input/output coupling, sessions, reuse.

Everything that touches rows runs in DuckDB (analysis/queries/tokens_*.sql). Lengths come back
as value counts (one row per distinct length), which is exact and small however many requests a
trace has; quantiles, CDFs and the seeded fit sample are computed from those counts here.
Outputs of unfinished requests (failed, cancelled, ...) are excluded from output statistics:
their zero or truncated outputs are not generation lengths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl
from scipy import stats

from analysis.db import LakeDB, quantile_name
from analysis.section import Section

QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
# Outputs of these are zero or truncated; the tokens_*.sql filters spell the same list out.
UNFINISHED: tuple[str, ...] = ("failed", "cancelled", "timeout", "killed", "evicted")
TOP_SERVICES = 5
FIT_SAMPLE = 200_000
SEED = 20_250_101
CDF_POINTS = 300
MAX_BUCKETS = 60
# Widths for the prefix-reuse time buckets: the smallest that gives at most MAX_BUCKETS.
NICE_WIDTHS_S: tuple[float, ...] = (
    1, 5, 10, 30, 60, 300, 600, 1800, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400,
)  # fmt: skip

# name -> (scipy distribution, number of free parameters; location is pinned at 0)
MODELS: dict[str, tuple[Any, int]] = {
    "exponential": (stats.expon, 1),
    "gamma": (stats.gamma, 2),
    "weibull": (stats.weibull_min, 2),
    "lognormal": (stats.lognorm, 2),
}


def _pkey(p: float) -> str:
    return f"p{round(p * 100):d}"


# ---------------------------------------------------------------- pure statistics


def weighted_quantiles(
    values: np.ndarray, counts: np.ndarray, probs: tuple[float, ...] | list[float] = QUANTILES
) -> np.ndarray:
    """Quantiles of the data that repeats `values[i]` `counts[i]` times.

    Linear interpolation between order statistics (numpy's default, SQL PERCENTILE_CONT), so
    the answer equals np.quantile on the expanded data without expanding it.
    """
    v = np.asarray(values, dtype=float)
    c = np.asarray(counts, dtype=np.int64)
    order = np.argsort(v, kind="stable")
    v, c = v[order], c[order]
    keep = c > 0
    v, c = v[keep], c[keep]
    if v.size == 0:
        return np.full(len(probs), np.nan)
    cum = np.cumsum(c)
    pos = np.asarray(probs, dtype=float) * (cum[-1] - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.ceil(pos).astype(np.int64)
    v_lo = v[np.searchsorted(cum, lo, side="right")]
    v_hi = v[np.searchsorted(cum, hi, side="right")]
    out: np.ndarray = v_lo + (pos - lo) * (v_hi - v_lo)
    return out


def summarize(values: np.ndarray, counts: np.ndarray) -> dict[str, Any]:
    """Count, mean, min, max and the QUANTILES of value-count data."""
    v = np.asarray(values, dtype=float)
    c = np.asarray(counts, dtype=np.int64)
    n = int(c.sum())
    if n == 0:
        return {"n": 0}
    out: dict[str, Any] = {
        "n": n,
        "mean": float(np.dot(v, c) / n),
        "min": float(v[c > 0].min()),
        "max": float(v[c > 0].max()),
    }
    for p, q in zip(QUANTILES, weighted_quantiles(v, c), strict=True):
        out[_pkey(p)] = float(q)
    return out


def cdf_points(
    values: np.ndarray, counts: np.ndarray, max_points: int = CDF_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """The empirical CDF at no more than ~max_points lengths, spaced evenly on a log axis.

    Each point is exact: F(x) = share of data <= x at a length x that occurs in the data.
    """
    raw = np.asarray(values, dtype=float)
    raw_counts = np.asarray(counts, dtype=np.int64)
    keep = raw_counts > 0
    if not keep.any():
        return np.array([]), np.array([])
    v, inverse = np.unique(raw[keep], return_inverse=True)
    c = np.bincount(inverse, weights=raw_counts[keep])
    share = np.cumsum(c) / c.sum()
    if v.size <= max_points:
        return v, share
    positive = v[v > 0]
    grid = (
        np.geomspace(positive[0], v[-1], max_points)
        if positive.size > 1
        else np.linspace(v[0], v[-1], max_points)
    )
    idx = np.searchsorted(v, grid, side="right") - 1
    idx = np.unique(np.concatenate([[0], idx[idx >= 0], [v.size - 1]]))
    return v[idx], share[idx]


def sample_from_counts(
    values: np.ndarray, counts: np.ndarray, size: int = FIT_SAMPLE, seed: int = SEED
) -> np.ndarray:
    """All the data when it has at most `size` values, else a seeded simple random sample
    (without replacement) of `size` of them, drawn from the value counts."""
    v = np.asarray(values)
    c = np.asarray(counts, dtype=np.int64)
    if c.sum() <= size:
        return np.repeat(v, c)
    rng = np.random.default_rng(seed)
    taken = rng.multivariate_hypergeometric(c, size)
    return np.repeat(v, taken)


@dataclass(frozen=True)
class Fit:
    """A maximum-likelihood fit of one model with its goodness of fit."""

    model: str
    params: dict[str, float]
    ks: float
    aic: float
    loglik: float

    def numbers(self) -> dict[str, Any]:
        return {"params": self.params, "ks": self.ks, "aic": self.aic}


def _named_params(model: str, fitted: tuple[float, ...]) -> dict[str, float]:
    if model == "exponential":
        return {"scale": float(fitted[1])}
    if model == "lognormal":
        sigma, _, scale = fitted
        return {"mu": float(math.log(scale)), "sigma": float(sigma)}
    shape, _, scale = fitted
    return {"shape": float(shape), "scale": float(scale)}


def fit_lengths(x: np.ndarray) -> dict[str, Fit]:
    """MLE fits of every model in MODELS to positive lengths (location pinned at 0), with the
    Kolmogorov-Smirnov distance and AIC. Empty when fewer than 2 distinct positive values."""
    data = np.asarray(x, dtype=float)
    data = data[data > 0]
    if data.size < 2 or np.unique(data).size < 2:
        return {}
    fits: dict[str, Fit] = {}
    for name, (dist, k) in MODELS.items():
        fitted = tuple(float(p) for p in dist.fit(data, floc=0))
        frozen = dist(*fitted)
        loglik = float(np.sum(frozen.logpdf(data)))
        ks = float(stats.kstest(data, frozen.cdf).statistic)
        fits[name] = Fit(name, _named_params(name, fitted), ks, 2 * k - 2 * loglik, loglik)
    return fits


def best_fit(fits: dict[str, Fit]) -> str | None:
    """The model with the lowest AIC (ties go to the simpler model, listed first)."""
    finite = [f for f in fits.values() if math.isfinite(f.aic)]
    return min(finite, key=lambda f: f.aic).model if finite else None


def model_cdf(fit: Fit, x: np.ndarray) -> np.ndarray:
    p = fit.params
    if fit.model == "exponential":
        out: np.ndarray = stats.expon.cdf(x, scale=p["scale"])
    elif fit.model == "lognormal":
        out = stats.lognorm.cdf(x, p["sigma"], scale=math.exp(p["mu"]))
    elif fit.model == "gamma":
        out = stats.gamma.cdf(x, p["shape"], scale=p["scale"])
    else:
        out = stats.weibull_min.cdf(x, p["shape"], scale=p["scale"])
    return out


def bucket_width(
    span_s: float, resolution_s: float | None, max_buckets: int = MAX_BUCKETS
) -> float:
    """The smallest round bucket width (never finer than the trace's time resolution) that
    splits `span_s` seconds into at most `max_buckets` buckets."""
    floor = resolution_s or 0.0
    for w in NICE_WIDTHS_S:
        if w >= floor and span_s / w < max_buckets:
            return float(w)
    return float(max(NICE_WIDTHS_S[-1], math.ceil(span_s / max_buckets)))


# ---------------------------------------------------------------- lake queries


def _numbers(row: dict[str, Any]) -> dict[str, Any]:
    """A row of n + statistics as JSON-able numbers (DECIMAL sums come back as Decimal)."""
    return {k: (int(v) if k == "n" else None if v is None else float(v)) for k, v in row.items()}


def overview(db: LakeDB, trace: str) -> dict[str, Any]:
    """Counts of token-carrying requests, services, sessions, hash ids; epoch-second span."""
    return db.query("tokens_overview", trace=trace).to_dicts()[0]


def excluded(db: LakeDB, trace: str) -> dict[str, int]:
    """Requests left out of output statistics, by status."""
    df = db.query("tokens_excluded", trace=trace)
    return {r["status"]: int(r["requests"]) for r in df.to_dicts()}


def lengths(db: LakeDB, trace: str) -> pl.DataFrame:
    """Value counts: side (input|output), tokens, n."""
    return db.query("tokens_lengths", trace=trace)


def lengths_by_service(db: LakeDB, trace: str, top: int = TOP_SERVICES) -> pl.DataFrame:
    """Value counts for the `top` busiest services: service, side, tokens, n."""
    return db.query("tokens_lengths_by_service", trace=trace, top=top)


def ratio(db: LakeDB, trace: str) -> dict[str, Any]:
    """Output/input ratio of finished requests: n, mean and QUANTILES."""
    return _summary(db, "tokens_ratio_values", trace)


def _summary(db: LakeDB, values: str, trace: str) -> dict[str, Any]:
    """n, mean and QUANTILES of the one group a *_values query selects (n 0 when empty)."""
    df = db.quantiles(values, QUANTILES, trace=trace)
    if df.is_empty():
        return {"n": 0, "mean": None, **{quantile_name(q): None for q in QUANTILES}}
    return _numbers(df.drop("grp", "part", "x_min", "x_max").to_dicts()[0])


def pearson_from_sums(n: int, sa: int, sb: int, saa: int, sbb: int, sab: int) -> float | None:
    """Pearson's r from exact integer sums (None when either side is constant)."""
    cov = n * sab - sa * sb
    va = n * saa - sa * sa
    vb = n * sbb - sb * sb
    if n < 2 or va <= 0 or vb <= 0:
        return None
    return float(cov / math.sqrt(va * vb))


def spearman(db: LakeDB, trace: str) -> float | None:
    """Spearman's rho of input vs output length over finished requests (None if undefined)."""
    row = db.query("tokens_spearman", trace=trace).to_dicts()[0]
    if not row["n"]:
        return None
    keys = ("sum_a", "sum_b", "sum_aa", "sum_bb", "sum_ab")
    return pearson_from_sums(int(row["n"]), *(int(row[k]) for k in keys))


def output_by_input(db: LakeDB, trace: str) -> pl.DataFrame:
    """Output length (mean, p50, p90) per half-octave bin of input length."""
    bins = db.query("tokens_output_by_input", trace=trace)
    spread = db.quantiles("tokens_output_by_input_values", (0.5, 0.9), trace=trace).select(
        pl.col("grp").alias("bin"),
        pl.col("p50").alias("output_p50"),
        pl.col("p90").alias("output_p90"),
    )
    return bins.join(spread, on="bin", how="left", maintain_order="left")


def sessions(db: LakeDB, trace: str) -> dict[str, Any] | None:
    """Turns per session and seconds between turns; None when no request has a session."""
    turns = db.query("tokens_session_turns", trace=trace)
    if turns.is_empty():
        return None
    t = turns["turns"].to_numpy()
    c = turns["sessions"].to_numpy()
    out: dict[str, Any] = {
        "sessions": int(c.sum()),
        "requests": int(np.dot(t, c)),
        "single_turn_share": float(c[t == 1].sum() / c.sum()),
        "turns": summarize(t, c),
    }
    gaps = _summary(db, "tokens_session_gap_values", trace)
    if gaps["n"]:
        out["gap_s"] = gaps
    return out


@dataclass
class PrefixReuse:
    """Prefix blocks seen before (hits of an infinite prefix cache), overall and per bucket."""

    block_tokens: int | None
    blocks: int
    new_blocks: int
    bucket_s: float | None
    over_time: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def reused(self) -> int:
        return self.blocks - self.new_blocks

    @property
    def share(self) -> float | None:
        return self.reused / self.blocks if self.blocks else None

    def numbers(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "block_tokens": self.block_tokens,
            "blocks": self.blocks,
            "distinct_blocks": self.new_blocks,
            "reused_blocks": self.reused,
            "share": self.share,
        }
        if self.bucket_s is not None and self.over_time.height > 1:
            out["bucket_s"] = self.bucket_s
            out["over_time"] = [
                {"t_s": r["t_s"], "blocks": r["blocks"], "share": r["share"]}
                for r in self.over_time.to_dicts()
            ]
        return out


def prefix_reuse(db: LakeDB, trace: str, bucket_s: float | None = None) -> PrefixReuse | None:
    """Share of prefix blocks (hash_ids) already seen earlier in arrival order; None when the
    trace has no hash ids. Buckets span the trace in at most MAX_BUCKETS round widths."""
    ov = overview(db, trace)
    if not ov["with_hash_ids"]:
        return None
    timed = db.info(trace).has_time and ov["t_min"] is not None
    t0 = float(ov["t_min"]) if timed else 0.0
    if timed and bucket_s is None:
        bucket_s = bucket_width(float(ov["t_max"]) - t0, db.info(trace).time_resolution_s)
    width = bucket_s if timed and bucket_s else 1.0
    df = db.query("tokens_prefix_reuse", trace=trace, t0=t0, bucket_s=float(width))
    df = df.with_columns(
        (pl.col("bucket") * width).alias("t_s"),
        ((pl.col("blocks") - pl.col("new_blocks")) / pl.col("blocks")).alias("share"),
    ).select("t_s", "blocks", "new_blocks", "share")
    hb = ov["hash_block_tokens"]
    return PrefixReuse(
        block_tokens=int(hb) if hb is not None else None,
        blocks=int(df["blocks"].sum()),
        new_blocks=int(df["new_blocks"].sum()),
        bucket_s=float(width) if timed else None,
        over_time=df,
    )


# ---------------------------------------------------------------- the section


def _split(df: pl.DataFrame, side: str) -> tuple[np.ndarray, np.ndarray]:
    part = df.filter(pl.col("side") == side)
    return part["tokens"].to_numpy(), part["n"].to_numpy()


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def _strength(rho: float) -> str:
    a = abs(rho)
    word = "barely" if a < 0.1 else "weakly" if a < 0.3 else "moderately" if a < 0.6 else "strongly"
    return word + (" negatively" if rho < 0 and a >= 0.1 else "")


def _quantile_row(name: str, s: dict[str, Any]) -> dict[str, Any]:
    return {"length": name, **{k: s.get(k) for k in ("n", "mean", *map(_pkey, QUANTILES))}}


def _cdf_layout(fig: go.Figure, title: str) -> go.Figure:
    """The axes of every token length CDF: tokens (log scale) against the share of requests."""
    fig.update_layout(
        title=title,
        xaxis={"title": "tokens per request (log scale)", "type": "log"},
        yaxis={"title": "share of requests", "range": [0, 1]},
        template="plotly_white",
    )
    return fig


def _cdf_figure(
    series: dict[str, tuple[np.ndarray, np.ndarray]], fits: dict[str, Fit]
) -> go.Figure:
    fig = go.Figure()
    colors = {"input": "#1f77b4", "output": "#d62728"}
    for side, (v, c) in series.items():
        x, f = cdf_points(v, c)
        fig.add_trace(
            go.Scatter(x=x, y=f, mode="lines", line_shape="hv", name=f"{side} (data)",
                       line={"color": colors[side]})
        )  # fmt: skip
        fit = fits.get(side)
        if fit is not None and x.size:
            xs = x[x > 0]
            fig.add_trace(
                go.Scatter(x=xs, y=model_cdf(fit, xs), mode="lines",
                           name=f"{side} ({fit.model} fit)",
                           line={"color": colors[side], "dash": "dot"})
            )  # fmt: skip
    return _cdf_layout(fig, "Token length CDFs with the best-fitting model")


def _service_figure(by_svc: pl.DataFrame) -> go.Figure:
    fig = go.Figure()
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    for i, svc in enumerate(sorted(by_svc["service"].unique().to_list())):
        part = by_svc.filter(pl.col("service") == svc)
        for side, dash in (("input", "solid"), ("output", "dash")):
            v, c = _split(part, side)
            if v.size == 0:
                continue
            x, f = cdf_points(v, c, max_points=200)
            fig.add_trace(
                go.Scatter(x=x, y=f, mode="lines", line_shape="hv", name=f"{svc} {side}",
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
                       hovertemplate="input ~%{x:.0f}: %{y:.0f} tokens (%{customdata} requests)")
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
               hovertemplate=f"{unit} %{{x:.1f}}: %{{y:.1%}} of %{{customdata}} blocks seen before")
    )  # fmt: skip
    fig.update_layout(
        title=f"Prefix blocks already seen (infinite cache), per {reuse.bucket_s:g} s",
        xaxis={"title": f"{unit}s since trace start"},
        yaxis={"title": "share of blocks seen before", "range": [0, 1], "tickformat": ".0%"},
        template="plotly_white",
    )
    return fig


def _turns_figure(db: LakeDB, trace: str) -> go.Figure:
    turns = db.query("tokens_session_turns", trace=trace)
    fig = go.Figure(go.Bar(x=turns["turns"].to_numpy(), y=turns["sessions"].to_numpy()))
    fig.update_layout(
        title="Turns per session",
        xaxis={"title": "requests in the session"},
        yaxis={"title": "sessions"},
        template="plotly_white",
    )
    return fig


def _by_service(db: LakeDB, trace: str) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame]:
    """Per-service summaries (numbers), their table, and the value counts behind them."""
    counts = lengths_by_service(db, trace)
    numbers: dict[str, Any] = {}
    rows = []
    for svc in sorted(counts["service"].unique().to_list()):
        part = counts.filter(pl.col("service") == svc)
        entry: dict[str, Any] = {}
        for side in ("input", "output"):
            v, c = _split(part, side)
            if v.size:
                entry[side] = summarize(v, c)
        numbers[svc] = entry
        row: dict[str, Any] = {"service": svc}
        for side in ("input", "output"):
            for stat in ("n", "p50", "p90"):
                row[f"{side}_{stat}"] = entry.get(side, {}).get(stat)
        rows.append(row)
    table = pl.DataFrame(rows).sort("input_n", "service", descending=[True, False], nulls_last=True)
    return numbers, table, counts


def _tables(numbers: dict[str, Any], fits: dict[str, dict[str, Fit]]) -> dict[str, pl.DataFrame]:
    tables: dict[str, pl.DataFrame] = {}
    rows = [_quantile_row(s, numbers[s]) for s in ("input", "output") if s in numbers]
    if "ratio" in numbers:
        rows.append(_quantile_row("output/input", numbers["ratio"]))
    if rows:
        tables["Token lengths"] = pl.DataFrame(rows)
    if fits:
        best = numbers.get("best_fit", {})
        tables["Distribution fits"] = pl.DataFrame(
            [
                {
                    "length": side,
                    "model": m,
                    "ks": f.ks,
                    "aic": f.aic,
                    "best": m == best.get(side),
                    "params": ", ".join(f"{k}={v:.4g}" for k, v in f.params.items()),
                }
                for side, fs in fits.items()
                for m, f in fs.items()
            ]
        )
    return tables


def _findings(
    numbers: dict[str, Any], fits: dict[str, dict[str, Fit]], reuse: PrefixReuse | None
) -> list[str]:
    findings: list[str] = []
    if "input" in numbers and "output" in numbers:
        i, o = numbers["input"], numbers["output"]
        text = (
            f"Median input is {_fmt(i['p50'])} tokens and median output {_fmt(o['p50'])} "
            f"(p99 {_fmt(i['p99'])} and {_fmt(o['p99'])}; means {_fmt(i['mean'])} and "
            f"{_fmt(o['mean'])})"
        )
        if "ratio" in numbers:
            text += f"; the median output/input ratio is {numbers['ratio']['p50']:.3g}"
        findings.append(text + ".")
    else:
        for side in ("input", "output"):
            if side in numbers:
                s = numbers[side]
                findings.append(
                    f"Median {side} is {_fmt(s['p50'])} tokens "
                    f"(p99 {_fmt(s['p99'])}, mean {_fmt(s['mean'])})."
                )
    if "spearman" in numbers:
        rho = numbers["spearman"]
        findings.append(
            f"Input and output lengths are {_strength(rho)} correlated (Spearman rho = {rho:.2f})."
        )
    best = numbers.get("best_fit", {})
    if best:
        sides = sorted(best)
        if len(sides) == 2 and best["input"] == best["output"]:
            ks = " and ".join(f"{fits[s][best[s]].ks:.3f}" for s in sides)
            text = f"{best['input']} for both input and output lengths (KS {ks})"
        else:
            text = " and ".join(
                f"{best[s]} for {s} lengths (KS {fits[s][best[s]].ks:.3f})" for s in sides
            )
        findings.append(f"By AIC the best-fitting model is {text}.")
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
    sess = numbers.get("sessions")
    if sess:
        text = (
            f"{sess['sessions']:,} sessions hold {sess['requests']:,} requests, a median of "
            f"{_fmt(sess['turns']['p50'])} turns (max {_fmt(sess['turns']['max'])})"
        )
        if "gap_s" in sess and sess["gap_s"]["p50"] is not None:
            text += f"; consecutive turns are a median {_fmt(sess['gap_s']['p50'])} s apart"
        findings.append(text + ".")
    return findings[:4]


def section(db: LakeDB, trace: str) -> Section | None:
    """Token-length characterization of one trace; None without input or output counts.

    numbers: requests, input_p50, output_p50, input/output ({n, mean, min, max, p10..p99}),
    excluded_from_output ({status: requests}), spearman, ratio ({n, mean, p10..p99}),
    fits ({side: {model: {params, ks, aic}}}), fit_sample ({side: n}), best_fit ({side: model}),
    by_service ({service: {input, output}}), sessions (when recorded) and prefix_reuse (when
    hash ids exist); keys whose analysis does not apply are left out.
    """
    if not db.has(trace, "requests"):
        return None
    ov = overview(db, trace)
    if not ov["requests"]:
        return None
    info = db.info(trace)
    hist = lengths(db, trace)
    numbers: dict[str, Any] = {"requests": int(ov["requests"])}
    notes: list[str] = []
    series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    fits: dict[str, dict[str, Fit]] = {}
    best: dict[str, str] = {}
    sample_sizes: dict[str, int] = {}
    sampled = False

    for side in ("input", "output"):
        v, c = _split(hist, side)
        if v.size == 0:
            continue
        series[side] = (v, c)
        numbers[side] = summarize(v, c)
        numbers[f"{side}_p50"] = numbers[side]["p50"]
        pos = v > 0
        sample = sample_from_counts(v[pos], c[pos])
        sampled = sampled or int(c[pos].sum()) > sample.size
        side_fits = fit_lengths(sample)
        if side_fits:
            fits[side] = side_fits
            sample_sizes[side] = int(sample.size)
            name = best_fit(side_fits)
            if name:
                best[side] = name

    gone = excluded(db, trace)
    if gone:
        numbers["excluded_from_output"] = gone
        what = ", ".join(f"{n:,} {s}" for s, n in sorted(gone.items()))
        notes.append(
            f"Output lengths, the output/input ratio and the correlation leave out {what} "
            "request(s): their outputs are zero or truncated, not generation lengths."
        )
    if not series:
        if not gone:
            return None
        notes.append("Every request with an output length is unfinished; nothing to measure.")

    if "input" in series and "output" in series:
        rho = spearman(db, trace)
        if rho is not None:
            numbers["spearman"] = rho
        r = ratio(db, trace)
        if r["n"]:
            numbers["ratio"] = r
    if fits:
        numbers["fits"] = {s: {m: f.numbers() for m, f in fs.items()} for s, fs in fits.items()}
        numbers["fit_sample"] = sample_sizes
        numbers["best_fit"] = best
        how = (
            f"on a seeded random sample of {FIT_SAMPLE:,} positive lengths"
            if sampled
            else "on all positive lengths"
        )
        notes.append(
            f"Fits are maximum likelihood with location 0, {how}; best = lowest AIC. Token "
            "counts are integers, so KS distances to continuous models carry a small "
            "discreteness error."
        )

    tables = _tables(numbers, fits)
    svc_counts = pl.DataFrame()
    if ov["services"]:
        numbers["by_service"], tables["By service"], svc_counts = _by_service(db, trace)
        if ov["services"] > TOP_SERVICES:
            notes.append(
                f"Only the {TOP_SERVICES} busiest of {ov['services']:,} services are broken down."
            )

    sess = sessions(db, trace) if ov["with_session"] else None
    if sess:
        numbers["sessions"] = sess
        if info.time_resolution_s and info.time_resolution_s >= 1 and "gap_s" in sess:
            notes.append(
                f"Inter-turn gaps are at the trace's {info.time_resolution_s:g} s resolution."
            )

    reuse = prefix_reuse(db, trace) if ov["with_hash_ids"] else None
    if reuse is not None and not reuse.blocks:
        reuse = None
    if reuse is not None:
        numbers["prefix_reuse"] = reuse.numbers()
        notes.append(
            "Prefix reuse counts every repeat of a block as a hit, as an infinite cache that "
            "never evicts would: an upper bound on the prefix-cache hit rate."
        )

    figures: list[go.Figure] = []
    if series:
        figures.append(_cdf_figure(series, {s: fits[s][best[s]] for s in best}))
    if "spearman" in numbers:
        bins = output_by_input(db, trace)
        if bins.height:
            figures.append(_io_figure(bins))
    if reuse is not None and reuse.bucket_s is not None and reuse.over_time.height > 1:
        figures.append(_reuse_figure(reuse))
    if sess:
        figures.append(_turns_figure(db, trace))
    if svc_counts.height and svc_counts["service"].n_unique() > 1:
        figures.append(_service_figure(svc_counts))

    return Section(
        key="tokens",
        title="Token lengths",
        numbers=numbers,
        tables=tables,
        figures=figures[:4],
        findings=_findings(numbers, fits, reuse),
        notes=notes,
    )
