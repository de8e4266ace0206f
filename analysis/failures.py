"""Failures: how often work ends unsuccessfully, where, when, and what it costs.

Works on `jobs` (final state of batch, GPU and HPC jobs) and on `requests` (BurstGPT's
zero-token responses, GenAI failures), and on published final-state shares of summaries-only
traces (Acme's cluster_summary). "Unsuccessful" pools failed, cancelled, timeout, killed and
evicted; `unknown` (no final state in the trace, e.g. still running when the sample ends) is
kept apart, so ratios are fractions of all rows and `ratio_by_status_known` re-bases them on the
rows whose final state is known.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import polars as pl

from analysis.db import LakeDB, quantile_name
from analysis.db import rounded_table as rounded_table  # re-exported
from analysis.section import Section

KEY = "failures"
UNSUCCESSFUL = ("failed", "cancelled", "timeout", "killed", "evicted")
STATUSES = ("ok", *UNSUCCESSFUL, "unknown")
COLORS = {
    "ok": "#4c9a2a",
    "failed": "#d62728",
    "cancelled": "#ff7f0e",
    "timeout": "#9467bd",
    "killed": "#8c564b",
    "evicted": "#e377c2",
    "unknown": "#bbbbbb",
}
TOP = 10
MAX_BINS = 500
# Published Acme-style state words -> canonical statuses.
PUBLISHED_STATES = {
    "completed": "ok",
    "complete": "ok",
    "succeeded": "ok",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "failed": "failed",
    "killed": "killed",
    "timeout": "timeout",
    "evicted": "evicted",
}


@dataclass(frozen=True)
class Unit:
    """What a failure is counted over: one table's rows and the columns to break them down by.

    The queries read the table through the `arrivals` view (source = table), one query for
    both tables; `failures_by` sums the measures of both, and `measures` are those this table
    has (the others are NULL), its own name for the hours of duration (`hours`) first.
    """

    table: str
    noun: str
    groups: tuple[str, ...]
    sizes: tuple[tuple[str, float], ...]  # (column, log base of its buckets)
    measures: tuple[str, ...]


JOBS = Unit(
    "jobs",
    "jobs",
    ("job_type", "tenant", "cluster"),
    (("num_gpus", 2.0), ("num_cpus", 2.0)),
    ("run_hours", "gpu_hours", "cpu_hours"),
)
REQUESTS = Unit(
    "requests",
    "requests",
    ("service", "tenant", "kind"),
    (("input_tokens", 4.0),),
    ("busy_hours", "input_tokens", "output_tokens"),
)


def unit_of(db: LakeDB, trace: str) -> Unit | None:
    if db.has(trace, "jobs"):
        return JOBS
    if db.has(trace, "requests"):
        return REQUESTS
    return None


# ---------------------------------------------------------------- pure helpers


def size_label(bucket: int, base: float) -> str:
    """Label of a log-`base` size bucket as numbered by the failures_by query."""
    if bucket <= 0:
        return "0"
    if bucket == 1:
        return "(0, 1]"
    lo, hi = base ** (bucket - 2), base ** (bucket - 1)
    return f"({lo:.0f}, {hi:.0f}]"


def status_ratios(counts: Mapping[str, float]) -> dict[str, float]:
    """Fraction of rows per status, plus `unsuccessful` (failed + cancelled + ... + evicted)."""
    total = float(sum(counts.values()))
    if total <= 0:
        return {}
    out = {s: counts.get(s, 0) / total for s in STATUSES if s in counts}
    out["unsuccessful"] = sum(counts.get(s, 0) for s in UNSUCCESSFUL) / total
    return out


def ratio_table(long: pl.DataFrame, statuses: tuple[str, ...] | None = None) -> pl.DataFrame:
    """(grp, status, n) rows -> one row per group: n, unsuccessful share, share per status."""
    present = statuses or tuple(s for s in STATUSES if s in set(long["status"].to_list()))
    rows = []
    for (grp,), part in long.group_by("grp", maintain_order=True):
        counts = dict(zip(part["status"].to_list(), part["n"].to_list(), strict=True))
        n = int(sum(counts.values()))
        ratios = status_ratios(counts)
        rows.append(
            {"grp": grp, "n": n, "unsuccessful": ratios.get("unsuccessful", 0.0)}
            | {s: ratios.get(s, 0.0) for s in present}
        )
    schema = {"grp": pl.String, "n": pl.Int64, "unsuccessful": pl.Float64} | {
        s: pl.Float64 for s in present
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def pooled_published(df: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Per-cluster shares pooled over job kinds, weighted by the jobs of each kind.

    `df` is `published()`'s table. Only kinds with published shares and jobs are pooled (the
    final states of other kinds' jobs are unknown).
    """
    out: dict[str, dict[str, float]] = {}
    jobs = df.filter(pl.col("metric") == "jobs_share")
    for (cluster,), part in jobs.group_by("cluster", maintain_order=True):
        weights: dict[str, float] = {}
        sums: dict[str, float] = {}
        for kind, status, value, n in part.select("kind", "status", "value", "jobs").iter_rows():
            if not n:
                continue
            weights[kind] = float(n)
            sums[status] = sums.get(status, 0.0) + value * n
        if weights:
            total = sum(weights.values())
            out[str(cluster)] = {s: v / total for s, v in sorted(sums.items())}
    return out


BIN_NAMES = {60: "minute", 3600: "hour", 86400: "day", 604800: "week"}


def bin_text(bin_s: float) -> str:
    """'hour', '5 min', '6 h': the width of a time bin in words."""
    return BIN_NAMES.get(round(bin_s)) or seconds_text(bin_s).replace(".0 ", " ")


def seconds_text(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "n/a"
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


# ---------------------------------------------------------------- queries


def breakdown(db: LakeDB, trace: str, dim: str = "all", top: int = TOP) -> pl.DataFrame:
    """Rows and resources per group of `dim` and status (long: grp, status, n, ...).

    `dim` is "all", a group column of the unit (job_type, tenant, cluster / service, tenant,
    kind), a size column (num_gpus, num_cpus / input_tokens: log buckets, grp is the bucket
    number) or "hour" (UTC hour of day).
    """
    unit = unit_of(db, trace)
    if unit is None:
        return pl.DataFrame()
    base = dict(unit.sizes).get(dim, 2.0)
    df = db.query_rounded(
        "failures_by", source=unit.table, trace=trace, dim=dim, top=top, base=base
    )
    df = df.rename({"hours": unit.measures[0]})
    return df.select("grp", "status", "n", "n_timed", *unit.measures)


def time_to_failure(db: LakeDB, trace: str) -> pl.DataFrame:
    """Run time (jobs) or duration (requests) quantiles per status and for all unsuccessful."""
    unit = unit_of(db, trace)
    if unit is None:
        return pl.DataFrame()
    qs = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
    df = db.quantiles("failures_duration_values", qs, source=unit.table, trace=trace)
    seconds = [pl.col(quantile_name(q)).alias(f"{quantile_name(q)}_s") for q in qs]
    return rounded_table(
        df.select(
            "grp", "n", pl.col("mean").alias("mean_s"), *seconds, pl.col("x_max").alias("max_s")
        )
    )


def over_time(db: LakeDB, trace: str, max_bins: int = MAX_BINS) -> pl.DataFrame:
    """Rows per time bin and status, wide, with empty bins filled: bin_start, n, per status."""
    unit = unit_of(db, trace)
    if unit is None:
        return pl.DataFrame()
    long = db.query_rounded("failures_over_time", source=unit.table, trace=trace, max_bins=max_bins)
    if long.is_empty():
        return long
    bin_s = float(long["bin_s"][0])
    lo, hi = float(long["bin_start"].min()), float(long["bin_start"].max())  # type: ignore[arg-type]
    grid = pl.DataFrame(
        {"bin_start": [lo + i * bin_s for i in range(round((hi - lo) / bin_s) + 1)]}
    )
    wide = long.pivot(on="status", index="bin_start", values="n", aggregate_function="sum")
    statuses = [s for s in STATUSES if s in wide.columns]
    wide = grid.join(wide, on="bin_start", how="left").with_columns(
        [pl.col(s).fill_null(0).cast(pl.Int64) for s in statuses]
    )
    unsuccessful = [s for s in UNSUCCESSFUL if s in statuses]
    return wide.select(
        pl.lit(bin_s).alias("bin_s"),
        pl.from_epoch((pl.col("bin_start") * 1e6).cast(pl.Int64), time_unit="us")
        .dt.replace_time_zone("UTC")
        .alias("bin_start"),
        pl.sum_horizontal(statuses).alias("n"),
        (pl.sum_horizontal(unsuccessful) if unsuccessful else pl.lit(0)).alias("unsuccessful"),
        *statuses,
    )


def published(db: LakeDB, trace: str) -> pl.DataFrame:
    """Published final-state shares per cluster and job kind (summaries-only traces).

    One row per cluster, kind and status for each of: `jobs_share` (share of jobs),
    `gpu_time_share` (share of GPU time) and `gpu_hours` (GPU time in hours); `jobs` is the
    number of jobs of that cluster and kind.
    """
    if not db.has(trace, "summaries"):
        return pl.DataFrame()
    raw = db.query_rounded("failures_published", trace=trace)
    if raw.is_empty():
        return raw
    counts = {
        (c, k): v
        for c, k, v in raw.filter((pl.col("metric") == "jobs") & (pl.col("stat") == "count"))
        .select("cluster", "kind", "value")
        .iter_rows()
    }
    rows = []
    for cluster, kind, metric, stat, value, _ in raw.iter_rows():
        if metric == "jobs":
            continue
        prefix = "jobs_" if metric.startswith("jobs_") else "gpu_time_"
        word = metric[len(prefix) :]
        status = PUBLISHED_STATES.get(word, word)
        if prefix == "jobs_":
            name, val = "jobs_share", value
        elif stat == "fraction":
            name, val = "gpu_time_share", value
        else:
            name, val = "gpu_hours", value / 3600.0
        rows.append((cluster, kind, name, status, val, counts.get((cluster, kind))))
    return pl.DataFrame(
        rows,
        schema={
            "cluster": pl.String,
            "kind": pl.String,
            "metric": pl.String,
            "status": pl.String,
            "value": pl.Float64,
            "jobs": pl.Float64,
        },
        orient="row",
    ).sort("cluster", "kind", "metric", "status")


# ---------------------------------------------------------------- numbers


def _resources_lost(all_rows: pl.DataFrame, unit: Unit) -> dict[str, Any]:
    measures = (
        ("gpu_hours", "cpu_hours", "run_hours")
        if unit is JOBS
        else ("busy_hours", "input_tokens", "output_tokens")
    )
    out: dict[str, Any] = {}
    for m in measures:
        if m not in all_rows.columns or all_rows[m].null_count() == all_rows.height:
            continue
        per = {
            s: float(v or 0.0)
            for s, v in all_rows.select("status", m).iter_rows()
            if s in UNSUCCESSFUL
        }
        total = float(all_rows[m].fill_null(0).sum())
        lost = sum(per.values())
        out[m] = per | {"unsuccessful": lost}
        out[f"{m}_total"] = total
        out[f"{m}_share_lost"] = lost / total if total > 0 else None
    # run_hours only matters when no GPU/CPU counts weigh it
    if "gpu_hours" in out or "cpu_hours" in out:
        for k in ("run_hours", "run_hours_total", "run_hours_share_lost"):
            out.pop(k, None)
    return out


def _quantiles(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: row[k]
        for k in ("n", "mean_s", "p10_s", "p25_s", "p50_s", "p75_s", "p90_s", "p99_s", "max_s")
    }


def _group_dict(table: pl.DataFrame) -> dict[str, dict[str, float]]:
    return {
        r["grp"]: {k: v for k, v in r.items() if k != "grp"} for r in table.iter_rows(named=True)
    }


def _size_rows(table: pl.DataFrame, base: float) -> list[dict[str, Any]]:
    known = table.filter(pl.col("grp") != "(unknown)").with_columns(
        pl.col("grp").cast(pl.Int64).alias("bucket")
    )
    out = []
    for r in known.sort("bucket").iter_rows(named=True):
        b = r.pop("bucket")
        r.pop("grp")
        out.append({"bucket": size_label(b, base)} | r)
    return out


# ---------------------------------------------------------------- figures


def _fig_status_by_group(
    tables: dict[str, pl.DataFrame], statuses: list[str], noun: str
) -> go.Figure:
    dim, table = next(iter(tables.items()))
    fig = go.Figure()
    groups = table["grp"].to_list()
    labels = [g if len(g) <= 24 else g[:21] + "..." for g in groups]
    for s in statuses:
        fig.add_bar(
            y=labels,
            x=table[s].to_list(),
            name=s,
            orientation="h",
            marker_color=COLORS[s],
            customdata=table["n"].to_list(),
            hovertemplate="%{y}: %{x:.1%} of %{customdata:,} " + noun + f"<extra>{s}</extra>",
        )
    fig.update_layout(
        barmode="stack",
        template="plotly_white",
        title=f"Final status of {noun} by {dim} (largest groups)",
        xaxis_title=f"share of {noun}",
        yaxis_title=dim,
        xaxis_tickformat=".0%",
        yaxis_autorange="reversed",
    )
    return fig


def _fig_sizes(sizes: dict[str, list[dict[str, Any]]], noun: str) -> go.Figure:
    fig = go.Figure()
    for dim, rows in sizes.items():
        fig.add_bar(
            x=[r["bucket"] for r in rows],
            y=[r["unsuccessful"] for r in rows],
            name=dim,
            customdata=[r["n"] for r in rows],
            hovertemplate="%{x}: %{y:.1%} of %{customdata:,} " + noun + f"<extra>{dim}</extra>",
        )
    fig.update_layout(
        barmode="group",
        template="plotly_white",
        title=f"Unsuccessful share of {noun} by size",
        xaxis_title="size bucket (" + ", ".join(sizes) + ")",
        yaxis_title=f"unsuccessful share of {noun}",
        yaxis_tickformat=".0%",
    )
    return fig


def _fig_over_time(wide: pl.DataFrame, noun: str, relative: bool) -> go.Figure:
    fig = go.Figure()
    statuses = [s for s in STATUSES if s in wide.columns]
    x = wide["bin_start"].to_list()
    for s in statuses:
        fig.add_bar(x=x, y=wide[s].to_list(), name=s, marker_color=COLORS[s])
    width = bin_text(float(wide["bin_s"][0]))
    fig.update_layout(
        barmode="stack",
        template="plotly_white",
        title=f"{noun.capitalize()} per {width} by final status",
        xaxis_title="time (UTC" + (", relative to the trace start" if relative else "") + ")",
        yaxis_title=f"{noun} per {width}",
    )
    return fig


def _fig_ttf(ttf: pl.DataFrame, what: str) -> go.Figure:
    fig = go.Figure()
    qs = ("p10_s", "p25_s", "p50_s", "p75_s", "p90_s", "p99_s")
    for r in ttf.iter_rows(named=True):
        grp = r["grp"]
        fig.add_scatter(
            x=[r[q] for q in qs],
            y=[grp] * len(qs),
            mode="lines+markers",
            text=[q[:-2] for q in qs],
            name=grp,
            marker_color=COLORS.get(grp, "#333333"),
            showlegend=False,
            hovertemplate="%{text}: %{x:.3g} s<extra>" + grp + f" (n={r['n']:,})</extra>",
        )
    fig.update_layout(
        template="plotly_white",
        title=f"{what} by final status (markers: p10, p25, p50, p75, p90, p99)",
        xaxis_title=f"{what} (s, log scale)",
        xaxis_type="log",
        yaxis_title="final status",
    )
    return fig


def _fig_hours(hours: list[dict[str, Any]], noun: str) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(
        x=[h["hour"] for h in hours],
        y=[h["unsuccessful"] for h in hours],
        mode="lines+markers",
        customdata=[h["n"] for h in hours],
        hovertemplate="%{x}:00 UTC: %{y:.1%} of %{customdata:,} " + noun + "<extra></extra>",
    )
    fig.update_layout(
        template="plotly_white",
        title=f"Unsuccessful share of {noun} by hour of day",
        xaxis_title="hour of day (UTC)",
        yaxis_title=f"unsuccessful share of {noun}",
        yaxis_tickformat=".0%",
    )
    return fig


def _fig_published(pub: pl.DataFrame, metric: str, title: str) -> go.Figure:
    part = pub.filter(pl.col("metric") == metric)
    fig = go.Figure()
    cats = sorted({(c, k) for c, k in part.select("cluster", "kind").iter_rows()})
    x = [[c for c, _ in cats], [k for _, k in cats]]
    for s in [s for s in STATUSES if s in set(part["status"].to_list())]:
        vals = {
            (c, k): v
            for c, k, st, v in part.select("cluster", "kind", "status", "value").iter_rows()
            if st == s
        }
        fig.add_bar(x=x, y=[vals.get(ck) for ck in cats], name=s, marker_color=COLORS[s])
    fig.update_layout(
        barmode="stack",
        template="plotly_white",
        title=title,
        xaxis_title="cluster / job kind",
        yaxis_title="published share",
        yaxis_tickformat=".0%",
    )
    return fig


# ---------------------------------------------------------------- section


def _published_part(db: LakeDB, trace: str, sec: Section) -> bool:
    pub = published(db, trace)
    if pub.is_empty() or pub.filter(pl.col("metric") == "jobs_share").is_empty():
        return False
    by_kind: dict[str, dict[str, dict[str, float]]] = {}
    gpu_share: dict[str, dict[str, float]] = {}
    gpu_hours: dict[str, dict[str, float]] = {}
    for cluster, kind, metric, status, value, _ in pub.iter_rows():
        if metric == "jobs_share":
            by_kind.setdefault(cluster, {}).setdefault(kind, {})[status] = value
        elif metric == "gpu_time_share":
            gpu_share.setdefault(cluster, {})[status] = value
        else:
            gpu_hours.setdefault(cluster, {})[status] = value
    pooled = pooled_published(pub)
    jobs = (
        pub.filter(pl.col("metric") == "jobs_share")
        .unique(["cluster", "kind"])
        .select("cluster", "jobs")
    )
    weights = {
        c: float(n or 0) for c, n in jobs.group_by("cluster").agg(pl.col("jobs").sum()).iter_rows()
    }
    total = sum(weights[c] for c in pooled)
    overall = {
        s: sum(pooled[c].get(s, 0.0) * weights[c] for c in pooled) / total
        for s in sorted({s for r in pooled.values() for s in r})
    }
    overall["unsuccessful"] = sum(v for s, v in overall.items() if s in UNSUCCESSFUL)
    sec.numbers.setdefault("ratio_by_status", overall)
    sec.numbers["published_ratio_by_cluster"] = pooled
    sec.numbers["published_ratio_by_cluster_kind"] = by_kind
    if gpu_share:
        sec.numbers["published_gpu_time_ratio_by_cluster"] = gpu_share
    if gpu_hours:
        sec.numbers["published_gpu_hours_by_cluster"] = gpu_hours
        per_status: dict[str, float] = {}
        for h in gpu_hours.values():
            for s, v in h.items():
                per_status[s] = per_status.get(s, 0.0) + v
        lost = {s: v for s, v in sorted(per_status.items()) if s in UNSUCCESSFUL}
        total = sum(per_status.values())
        sec.numbers.setdefault(
            "resources_lost",
            {
                "gpu_hours": lost | {"unsuccessful": sum(lost.values())},
                "gpu_hours_total": total,
                "gpu_hours_share_lost": sum(lost.values()) / total if total > 0 else None,
            },
        )
    sec.tables["published_final_states"] = pub
    sec.figures.append(
        _fig_published(pub, "jobs_share", "Published final status of jobs per cluster and job kind")
    )
    if gpu_share:
        sec.figures.append(
            _fig_published(pub, "gpu_time_share", "Published share of GPU time per final status")
        )
    sec.notes.append(
        "Published by the trace authors (cluster_summary), not recomputed: shares are rounded to "
        "0.001 and need not add up to 1; ratio_by_status pools the clusters that publish shares, "
        "weighted by their job counts."
    )
    gpu = {c: k["gpu"] for c, k in by_kind.items() if "gpu" in k and "failed" in k["gpu"]}
    if gpu:
        lo = min(gpu, key=lambda c: gpu[c]["failed"])
        hi = max(gpu, key=lambda c: gpu[c]["failed"])
        sec.findings.append(
            f"Published GPU-job failure shares range from {gpu[lo]['failed']:.1%} ({lo}) to "
            f"{gpu[hi]['failed']:.1%} ({hi}) across {len(gpu)} clusters."
        )
    if gpu_share:
        worst = max(
            gpu_share, key=lambda c: sum(v for s, v in gpu_share[c].items() if s in UNSUCCESSFUL)
        )
        share = sum(v for s, v in gpu_share[worst].items() if s in UNSUCCESSFUL)
        sec.findings.append(
            f"In {worst}, failed and cancelled jobs took {share:.1%} of all GPU time "
            f"(published), the most of any cluster."
        )
    return True


def _records_part(db: LakeDB, trace: str, unit: Unit, sec: Section) -> bool:
    all_rows = breakdown(db, trace, "all", top=0)
    if all_rows.is_empty():
        return False
    counts = dict(zip(all_rows["status"].to_list(), all_rows["n"].to_list(), strict=True))
    if not any(counts.get(s, 0) for s in UNSUCCESSFUL):
        return False  # all ok / unknown: the trace records no failures
    info = db.info(trace)
    noun = unit.noun
    n = int(sum(counts.values()))
    ratios = status_ratios(counts)
    statuses = [s for s in STATUSES if s in counts]
    num = sec.numbers
    num["table"] = unit.table
    num["rows"] = n
    num["ratio_by_status"] = ratios
    if counts.get("unknown"):
        num["ratio_by_status_known"] = status_ratios(
            {s: v for s, v in counts.items() if s != "unknown"}
        )

    groups: dict[str, pl.DataFrame] = {}
    for dim in unit.groups:
        t = ratio_table(breakdown(db, trace, dim, TOP), tuple(statuses))
        real = t.filter(~pl.col("grp").is_in(["(other)", "(unknown)"]))
        if real.height >= 2:
            groups[dim] = t.sort(
                pl.col("grp").is_in(["(other)", "(unknown)"]), pl.col("n"), descending=[False, True]
            )
    if groups:
        num["by_group"] = {d: _group_dict(t) for d, t in groups.items()}
    sizes: dict[str, list[dict[str, Any]]] = {}
    for dim, base in unit.sizes:
        t = ratio_table(breakdown(db, trace, dim, 0), tuple(statuses))
        rows = _size_rows(t, base)
        if len(rows) >= 2:
            sizes[dim] = rows
    if sizes:
        num["by_size"] = sizes
    hours: list[dict[str, Any]] = []
    if info.time_origin == "absolute":
        t = ratio_table(breakdown(db, trace, "hour", 0), tuple(statuses))
        t = (
            t.filter(pl.col("grp") != "(unknown)")
            .with_columns(pl.col("grp").cast(pl.Int64))
            .sort("grp")
        )
        hours = [{"hour": r.pop("grp")} | r for r in t.iter_rows(named=True)]
        if hours:
            num["by_hour"] = hours
    else:
        sec.notes.append(
            "No hour-of-day breakdown: the trace's timestamps are relative to its start, so the "
            "time of day is unknown."
        )
    lost = _resources_lost(all_rows, unit)
    if lost:
        num["resources_lost"] = lost
    ttf = time_to_failure(db, trace)
    by_status = {r["grp"]: _quantiles(r) for r in ttf.iter_rows(named=True)}
    if "unsuccessful" in by_status:
        num["time_to_failure"] = by_status["unsuccessful"] | {
            "by_status": {k: v for k, v in by_status.items() if k != "unsuccessful"}
        }
    wide = over_time(db, trace)
    if not wide.is_empty():
        num["failures_over_time"] = {
            "bin_s": float(wide["bin_s"][0]),
            "start": wide["bin_start"][0].isoformat(),
            "n": wide["n"].to_list(),
            "unsuccessful": wide["unsuccessful"].to_list(),
        }

    sec.tables["ratio_by_status"] = pl.DataFrame(
        {
            "status": statuses,
            "n": [counts[s] for s in statuses],
            "share": [ratios[s] for s in statuses],
        }
    )
    for d, t in groups.items():
        sec.tables[f"by_{d}"] = t
    for d, rows in sizes.items():
        sec.tables[f"by_{d}"] = pl.DataFrame(rows)
    if not ttf.is_empty():
        sec.tables["time_to_failure"] = ttf
    if not wide.is_empty():
        sec.tables["over_time"] = wide

    relative = info.time_origin != "absolute"
    what = "Run time" if unit is JOBS else "Duration"
    figs = [
        _fig_status_by_group(groups, statuses, noun) if groups else None,
        _fig_sizes(sizes, noun) if sizes else None,
        _fig_over_time(wide, noun, relative) if not wide.is_empty() else None,
        _fig_ttf(ttf, what) if not ttf.is_empty() else None,
        _fig_hours(hours, noun) if hours else None,
    ]
    sec.figures.extend([f for f in figs if f is not None][:4])

    parts = ", ".join(f"{s} {ratios[s]:.1%}" for s in UNSUCCESSFUL if counts.get(s))
    text = f"{ratios['unsuccessful']:.1%} of {n:,} {noun} ended unsuccessfully ({parts})"
    if counts.get("unknown"):
        text += f"; {ratios['unknown']:.1%} have no final status in the trace"
    sec.findings.append(text + ".")
    for m, label in (
        ("gpu_hours", "GPU-hours"),
        ("cpu_hours", "CPU-hours"),
        ("input_tokens", "input tokens"),
        ("busy_hours", "busy hours"),
    ):
        if m in lost and lost[m]["unsuccessful"] > 0 and lost.get(f"{m}_share_lost") is not None:
            digits = 0 if "tokens" in m else 1
            sec.findings.append(
                f"Unsuccessful {noun} used {lost[m]['unsuccessful']:,.{digits}f} {label}, "
                f"{lost[f'{m}_share_lost']:.1%} of all {label} recorded."
            )
            break
    if "time_to_failure" in num:
        ttf_n = num["time_to_failure"]
        ok = by_status.get("ok")
        sec.findings.append(
            f"Unsuccessful {noun} ended after a median {seconds_text(ttf_n['p50_s'])} "
            f"(p90 {seconds_text(ttf_n['p90_s'])})"
            + (f", successful ones after {seconds_text(ok['p50_s'])}." if ok else ".")
        )
    for dim, t in groups.items():
        floor = max(10, int(0.01 * n))
        cand = t.filter(~pl.col("grp").is_in(["(other)", "(unknown)"]) & (pl.col("n") >= floor))
        if cand.height >= 2:
            top = cand.sort("unsuccessful", "grp", descending=[True, False]).row(0, named=True)
            name = top["grp"] if len(top["grp"]) <= 24 else top["grp"][:21] + "..."
            sec.findings.append(
                f"By {dim}, {name} has the highest unsuccessful share: {top['unsuccessful']:.1%} "
                f"of its {top['n']:,} {noun}."
            )
            break
    sec.notes.append(
        "Unsuccessful = failed, cancelled, timeout, killed or evicted; shares are of all rows, "
        "`unknown` (no final state recorded) included; ratio_by_status_known leaves it out."
    )
    if unit is JOBS:
        sec.notes.append(
            "A job's time (over time, hour of day) is its submission, else its start, else its end;"
            " resources lost are run time x GPUs (or CPUs) requested, for jobs with a run time."
        )
    return True


def section(db: LakeDB, trace: str) -> Section | None:
    """Failure ratios, breakdowns, resources lost and time to failure; None when no failures."""
    unit = unit_of(db, trace)
    sec = Section(key=KEY, title="Failures")
    found = False
    if unit is not None and _records_part(db, trace, unit, sec):
        found = True
        sec.title = f"Failures of {unit.noun}"
    if _published_part(db, trace, sec):
        if not found:
            sec.title = "Failures (published final-state shares)"
        found = True
    if not found:
        return None
    sec.findings = sec.findings[:4]
    return sec
