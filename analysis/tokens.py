"""Token lengths of LLM requests, the compute step: distributions, fits, input/output coupling,
sessions, prefix reuse.

Everything that touches rows runs in DuckDB (analysis/queries/tokens_*.sql). Lengths come back
as value counts (one row per distinct length), which is exact and small however many requests a
trace has; quantiles, CDFs and the seeded fit sample are computed from those counts here.
Outputs of unfinished requests (failed, cancelled, ...) are excluded from output statistics:
their zero or truncated outputs are not generation lengths. `compute` returns a `TokensResult`;
`analysis.tokens_report` turns it into the section.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from analysis.db import LakeDB, quantile_name

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


def quantile_key(p: float) -> str:
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


@dataclass(frozen=True)
class Summary:
    """Count, mean and quantiles of a sample (tokens, a ratio, turns or seconds, as named).

    `min` and `max` are None where they are not reported (ratios, gaps)."""

    n: int
    mean: float | None
    p10: float | None
    p25: float | None
    p50: float | None
    p75: float | None
    p90: float | None
    p99: float | None
    min: float | None = None
    max: float | None = None

    def quantile(self, p: float) -> float | None:
        """The QUANTILES entry for p (0.5 -> p50)."""
        value: float | None = getattr(self, quantile_key(p))
        return value


def summarize(values: np.ndarray, counts: np.ndarray) -> Summary:
    """Count, mean, min, max and the QUANTILES of value-count data."""
    v = np.asarray(values, dtype=float)
    c = np.asarray(counts, dtype=np.int64)
    n = int(c.sum())
    if n == 0:
        return Summary(0, None, None, None, None, None, None, None)
    p10, p25, p50, p75, p90, p99 = (float(q) for q in weighted_quantiles(v, c))
    return Summary(
        n,
        float(np.dot(v, c) / n),
        p10,
        p25,
        p50,
        p75,
        p90,
        p99,
        min=float(v[c > 0].min()),
        max=float(v[c > 0].max()),
    )


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


def overview(db: LakeDB, trace: str) -> dict[str, Any]:
    """Counts of token-carrying requests, services, sessions, hash ids; epoch-second span."""
    return db.query("tokens_overview", trace=trace).to_dicts()[0]


def requests_with_lengths(db: LakeDB) -> dict[str, int]:
    """Per trace with any: requests with an input or output length (`overview`'s `requests`),
    for every trace of the lake in one scan."""
    df = db.query("tokens_traces")
    return {t: int(n) for t, n in zip(df["trace"].to_list(), df["requests"].to_list(), strict=True)}


def excluded(db: LakeDB, trace: str) -> dict[str, int]:
    """Requests left out of output statistics, by status."""
    df = db.query("tokens_excluded", trace=trace)
    return {r["status"]: int(r["requests"]) for r in df.to_dicts()}


def lengths(db: LakeDB, trace: str) -> pl.DataFrame:
    """Value counts: side (input|output), tokens, n."""
    return db.query("tokens_lengths", trace=trace)


@dataclass(frozen=True)
class LengthCounts:
    """One trace's length value counts (`lengths`): the summaries, medians and CDFs a
    comparison of traces reads, from one scan, without the fits and the rest of `compute`.
    Each summary is the one `compute` gives its `LengthSide`."""

    trace: str
    table: pl.DataFrame  # side (input|output), tokens, n

    def summary(self, side: str) -> Summary | None:
        v, c = side_counts(self.table, side)
        return summarize(v, c) if v.size else None

    def cdf(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        """`cdf_points` of one side (empty arrays when the side has no lengths)."""
        return cdf_points(*side_counts(self.table, side))

    @property
    def input_p50(self) -> float | None:
        """Median input length, tokens (`TokensResult.input_p50`)."""
        s = self.summary("input")
        return s.p50 if s is not None else None

    @property
    def output_p50(self) -> float | None:
        """Median output length of finished requests, tokens (`TokensResult.output_p50`)."""
        s = self.summary("output")
        return s.p50 if s is not None else None


def length_counts(db: LakeDB, trace: str) -> LengthCounts:
    return LengthCounts(trace, lengths(db, trace))


def lengths_by_service(db: LakeDB, trace: str, top: int = TOP_SERVICES) -> pl.DataFrame:
    """Value counts for the `top` busiest services: service, side, tokens, n."""
    return db.query("tokens_lengths_by_service", trace=trace, top=top)


def ratio(db: LakeDB, trace: str) -> Summary:
    """Output/input ratio of finished requests: n, mean and QUANTILES."""
    return _summary(db, "tokens_ratio_values", trace)


def _summary(db: LakeDB, values: str, trace: str) -> Summary:
    """n, mean and QUANTILES of the one group a *_values query selects (n 0 when empty)."""
    df = db.quantiles(values, QUANTILES, trace=trace)
    if df.is_empty():
        return Summary(0, None, None, None, None, None, None, None)
    row = df.row(0, named=True)

    def num(key: str) -> float | None:
        v = row[key]  # DECIMAL sums come back as Decimal
        return None if v is None else float(v)

    p10, p25, p50, p75, p90, p99 = (num(quantile_name(q)) for q in QUANTILES)
    return Summary(int(row["n"]), num("mean"), p10, p25, p50, p75, p90, p99)


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


@dataclass(frozen=True)
class Sessions:
    """Multi-turn sessions: how many, how long, how far apart their turns are."""

    sessions: int
    requests: int  # requests that belong to a session
    single_turn_share: float  # sessions of one request, over all sessions
    turns: Summary  # requests per session
    gap_s: Summary | None  # seconds between consecutive turns of a session
    turns_table: pl.DataFrame  # turns, sessions: how many sessions have each number of turns


def sessions(db: LakeDB, trace: str) -> Sessions | None:
    """Turns per session and seconds between turns; None when no request has a session."""
    turns = db.query("tokens_session_turns", trace=trace)
    if turns.is_empty():
        return None
    t = turns["turns"].to_numpy()
    c = turns["sessions"].to_numpy()
    gaps = _summary(db, "tokens_session_gap_values", trace)
    return Sessions(
        sessions=int(c.sum()),
        requests=int(np.dot(t, c)),
        single_turn_share=float(c[t == 1].sum() / c.sum()),
        turns=summarize(t, c),
        gap_s=gaps if gaps.n else None,
        turns_table=turns,
    )


@dataclass(frozen=True)
class PrefixReuse:
    """Prefix blocks seen before (hits of an infinite prefix cache), overall and per bucket.

    `over_time` columns: t_s (bucket start, seconds since the first request), blocks,
    new_blocks, share (reused over blocks); `bucket_s` is None for untimed traces.
    """

    block_tokens: int | None  # tokens per block, as the trace publishes it
    blocks: int
    new_blocks: int  # blocks seen for the first time: the distinct blocks
    bucket_s: float | None
    over_time: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def reused(self) -> int:
        return self.blocks - self.new_blocks

    @property
    def share(self) -> float | None:
        return self.reused / self.blocks if self.blocks else None


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


# ---------------------------------------------------------------- the result


@dataclass(frozen=True)
class LengthSide:
    """Token lengths of one side, input (prompts) or output (generations of finished requests).

    `values` and `counts` are the exact value counts (length in tokens -> requests); the fits
    are maximum likelihood on `fit_sample` positive lengths (all of them, or a seeded random
    sample of FIT_SAMPLE when `sampled`).
    """

    side: str  # input | output
    values: np.ndarray
    counts: np.ndarray
    summary: Summary  # tokens
    fits: dict[str, Fit]  # model -> fit; empty when fewer than 2 distinct positive lengths
    best_fit: str | None  # lowest AIC
    fit_sample: int
    sampled: bool


@dataclass(frozen=True)
class ServiceLengths:
    """Input and output lengths of one service (a model or endpoint), tokens."""

    service: str
    input: Summary | None
    output: Summary | None


@dataclass(frozen=True)
class TokensResult:
    """Token lengths of one trace's requests.

    `excluded_from_output`: unfinished requests (by status) left out of output lengths, the
    ratio and the correlation. `spearman`: rank correlation of input and output lengths of
    finished requests. `ratio`: output/input of finished requests. `output_by_input`: per
    half-octave input bin (bin, input_min, input_max, n, output_mean, output_p50, output_p90).
    `by_service` holds the TOP_SERVICES busiest of `services` services, `service_counts` their
    value counts (service, side, tokens, n).
    """

    trace: str
    requests: int  # requests with an input or output length
    input: LengthSide | None
    output: LengthSide | None
    excluded_from_output: dict[str, int]
    spearman: float | None
    ratio: Summary | None
    output_by_input: pl.DataFrame | None
    services: int
    by_service: list[ServiceLengths]
    service_counts: pl.DataFrame
    sessions: Sessions | None
    prefix_reuse: PrefixReuse | None
    time_resolution_s: float | None

    @property
    def sides(self) -> list[LengthSide]:
        return [s for s in (self.input, self.output) if s is not None]

    @property
    def input_p50(self) -> float | None:
        """Median input length, tokens."""
        return self.input.summary.p50 if self.input is not None else None

    @property
    def output_p50(self) -> float | None:
        """Median output length of finished requests, tokens."""
        return self.output.summary.p50 if self.output is not None else None


def side_counts(df: pl.DataFrame, side: str) -> tuple[np.ndarray, np.ndarray]:
    part = df.filter(pl.col("side") == side)
    return part["tokens"].to_numpy(), part["n"].to_numpy()


def _side(hist: pl.DataFrame, side: str) -> LengthSide | None:
    v, c = side_counts(hist, side)
    if v.size == 0:
        return None
    pos = v > 0
    sample = sample_from_counts(v[pos], c[pos])
    fits = fit_lengths(sample)
    return LengthSide(
        side=side,
        values=v,
        counts=c,
        summary=summarize(v, c),
        fits=fits,
        best_fit=best_fit(fits),
        fit_sample=int(sample.size),
        sampled=int(c[pos].sum()) > sample.size,
    )


def by_service(db: LakeDB, trace: str) -> tuple[list[ServiceLengths], pl.DataFrame]:
    """Per-service summaries of the TOP_SERVICES busiest services, and their value counts."""
    counts = lengths_by_service(db, trace)
    out = []
    for svc in sorted(counts["service"].unique().to_list()):
        part = counts.filter(pl.col("service") == svc)
        sides: dict[str, Summary | None] = {}
        for side in ("input", "output"):
            v, c = side_counts(part, side)
            sides[side] = summarize(v, c) if v.size else None
        out.append(ServiceLengths(svc, sides["input"], sides["output"]))
    return out, counts


def compute(db: LakeDB, trace: str) -> TokensResult | None:
    """Token-length characterization of one trace; None without input or output counts."""
    if not db.has(trace, "requests"):
        return None
    ov = overview(db, trace)
    if not ov["requests"]:
        return None
    hist = lengths(db, trace)
    inp, out = _side(hist, "input"), _side(hist, "output")
    gone = excluded(db, trace)
    if inp is None and out is None and not gone:
        return None
    both = inp is not None and out is not None
    r = ratio(db, trace) if both else None
    services, service_counts = by_service(db, trace) if ov["services"] else ([], pl.DataFrame())
    reuse = prefix_reuse(db, trace) if ov["with_hash_ids"] else None
    bins = output_by_input(db, trace) if both else None
    rho = spearman(db, trace) if both else None
    return TokensResult(
        trace=trace,
        requests=int(ov["requests"]),
        input=inp,
        output=out,
        excluded_from_output=gone,
        spearman=rho,
        ratio=r if r is not None and r.n else None,
        output_by_input=bins if rho is not None and bins is not None and bins.height else None,
        services=int(ov["services"] or 0),
        by_service=services,
        service_counts=service_counts,
        sessions=sessions(db, trace) if ov["with_session"] else None,
        prefix_reuse=reuse if reuse is not None and reuse.blocks else None,
        time_resolution_s=db.info(trace).time_resolution_s,
    )
