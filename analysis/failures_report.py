"""Failures, the presentation step: a `FailuresResult` -> the section's tables, figures, words.

`numbers` (the report JSON's `traces.NAME.failures`) is built here from the result's named
fields: `failure_ratio` (the one failure ratio), `ratio_by_status` (each known status and
`unsuccessful`, over rows with a known status), `rows`, `known_rows`, `unknown_rows`,
`unsuccessful_statuses`, and the breakdowns.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import polars as pl

from analysis.failures import (
    FOLDED,
    JOBS,
    KEY,
    KNOWN,
    STATUSES,
    UNSUCCESSFUL,
    DurationStats,
    FailuresResult,
    GroupCounts,
    OverTime,
    PublishedShares,
    RecordedFailures,
    ResourceLoss,
    StatusCounts,
    bin_text,
    counts_table,
    seconds_text,
)
from analysis.presentation import drawable, n_text, short, time_axis, with_n
from analysis.section import Section

COLORS = {
    "ok": "#4c9a2a",
    "failed": "#d62728",
    "cancelled": "#ff7f0e",
    "timeout": "#9467bd",
    "killed": "#8c564b",
    "evicted": "#e377c2",
    "unknown": "#bbbbbb",
}
UNSUCCESSFUL_TEXT = "failed, cancelled, timeout, killed or evicted"
DEFINITION = (
    f"Unsuccessful = {UNSUCCESSFUL_TEXT}; every share is of the rows whose final status is "
    "known: rows with status `unknown` (no final state in the trace) are counted apart and left "
    "out of every ratio."
)
QUANTILE_KEYS = ("p10_s", "p25_s", "p50_s", "p75_s", "p90_s", "p99_s")
NO_SIZE = "(no size)"  # the rows of a size breakdown whose size column is empty


# ---------------------------------------------------------------- JSON


def _counts_json(counts: StatusCounts, statuses: tuple[str, ...]) -> dict[str, Any]:
    """n (rows), unknown_rows, and the unsuccessful share and each known status's share of the
    known rows (None when the group has none), for each of `statuses`."""
    return {
        "n": counts.rows,
        "unknown_rows": counts.unknown_rows,
        "unsuccessful": counts.failure_ratio,
    } | {s: counts.share(s) for s in statuses}


def _loss_json(losses: list[ResourceLoss]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in losses:
        out[r.measure] = r.by_status | {"unsuccessful": r.lost}
        out[f"{r.measure}_total"] = r.total
        out[f"{r.measure}_share_lost"] = r.share_lost
    return out


def _duration_json(d: DurationStats) -> dict[str, Any]:
    return {
        "n": d.n,
        "mean_s": d.mean_s,
        **{k: getattr(d, k) for k in QUANTILE_KEYS},
        "max_s": d.max_s,
    }


def _known_statuses(rec: RecordedFailures) -> tuple[str, ...]:
    return tuple(s for s in rec.counts.statuses if s != "unknown")


def _recorded_json(rec: RecordedFailures) -> dict[str, Any]:
    statuses = _known_statuses(rec)
    num: dict[str, Any] = {
        "table": rec.unit.table,
        "rows": rec.counts.rows,
        "known_rows": rec.counts.known_rows,
        "unknown_rows": rec.counts.unknown_rows,
    }
    if rec.by_group:
        num["by_group"] = {
            dim: {g.group: _counts_json(g.counts, statuses) for g in groups}
            for dim, groups in rec.by_group.items()
        }
    if rec.by_size:
        num["by_size"] = {
            dim: [{"bucket": g.group} | _counts_json(g.counts, statuses) for g in groups]
            for dim, groups in rec.by_size.items()
        }
    if rec.by_hour:
        num["by_hour"] = [{"hour": h} | _counts_json(c, statuses) for h, c in rec.by_hour.items()]
    if rec.resources_lost:
        num["resources_lost"] = _loss_json(rec.resources_lost)
    ttf = rec.time_to_failure
    if "unsuccessful" in ttf:
        num["time_to_failure"] = _duration_json(ttf["unsuccessful"]) | {
            "by_status": {k: _duration_json(v) for k, v in ttf.items() if k != "unsuccessful"}
        }
    if rec.over_time is not None:
        wide = rec.over_time.table
        num["failures_over_time"] = {
            "bin_s": rec.over_time.bin_s,
            "start": rec.over_time.start.isoformat(),
            "n": wide["n"].to_list(),
            "unsuccessful": wide["unsuccessful"].to_list(),
        }
    return num


def _published_json(pub: PublishedShares) -> dict[str, Any]:
    num: dict[str, Any] = {
        "published_ratio_by_cluster": pub.by_cluster,
        "published_ratio_by_cluster_kind": pub.by_cluster_kind,
    }
    if pub.gpu_time_by_cluster:
        num["published_gpu_time_ratio_by_cluster"] = pub.gpu_time_by_cluster
    if pub.gpu_hours_by_cluster:
        num["published_gpu_hours_by_cluster"] = pub.gpu_hours_by_cluster
    return num


def numbers(result: FailuresResult) -> dict[str, Any]:
    """The report JSON of the section, from the result's named fields."""
    num: dict[str, Any] = {
        "failure_ratio": result.failure_ratio,
        "ratio_by_status": result.ratio_by_status,
        "unsuccessful_statuses": list(result.unsuccessful_statuses),
    }
    if result.recorded is not None:
        num |= _recorded_json(result.recorded)
    if result.published is not None:
        num |= _published_json(result.published)
        lost = result.published.gpu_hours_lost
        if "resources_lost" not in num and lost is not None:
            num["resources_lost"] = _loss_json([lost])
    return num


# ---------------------------------------------------------------- tables


def _status_table(counts: StatusCounts) -> pl.DataFrame:
    statuses = counts.statuses
    return pl.DataFrame(
        {
            "status": [*statuses, "unsuccessful"],
            "rows": [*(counts.counts[s] for s in statuses), counts.unsuccessful_rows],
            "share_of_known": [
                *(None if s == "unknown" else counts.share(s) for s in statuses),
                counts.failure_ratio,
            ],
        },
        schema={"status": pl.String, "rows": pl.Int64, "share_of_known": pl.Float64},
    )


def _duration_table(ttf: dict[str, DurationStats]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"status": k} | _duration_json(v) for k, v in ttf.items()],
        schema={"status": pl.String, "n": pl.Int64, "mean_s": pl.Float64}
        | {k: pl.Float64 for k in (*QUANTILE_KEYS, "max_s")},
    )


def _over_time_table(ot: OverTime, time_origin: str) -> pl.DataFrame:
    if time_origin == "absolute":
        return ot.table
    x, title = time_axis(ot.table["bin_start"], time_origin)
    return ot.table.drop("bin_start").insert_column(
        1, pl.Series(title.split(" ")[0] + "_since_start", x)
    )


def with_no_size(rec: RecordedFailures) -> dict[str, list[GroupCounts]]:
    """Each size breakdown with a NO_SIZE group last: the rows whose size column is empty,
    which fall in no bucket (all rows minus the buckets' rows, per status), so that every row
    of the trace is in one group of the table and the figure."""
    out = {}
    for dim, buckets in rec.by_size.items():
        rest = {
            s: n - sum(b.counts.counts.get(s, 0) for b in buckets)
            for s, n in rec.counts.counts.items()
        }
        rest = {s: n for s, n in rest.items() if n > 0}
        out[dim] = [*buckets, GroupCounts(NO_SIZE, StatusCounts(rest))] if rest else buckets
    return out


def _published_table(pub: pl.DataFrame) -> pl.DataFrame:
    """The published final states with shares (of jobs, of GPU time) and GPU-hours in columns
    of their own: one unit, so one number format, per column."""
    hours = pl.col("metric") == "gpu_hours"
    return pub.select(
        "cluster",
        "kind",
        "metric",
        "status",
        pl.when(~hours).then(pl.col("value")).alias("share"),
        pl.when(hours).then(pl.col("value")).alias("gpu_hours"),
        "jobs",
    )


def _group_notes(rec: RecordedFailures, sizes: dict[str, list[GroupCounts]]) -> list[str]:
    """What the per-group figures leave out, and the rows without a size."""
    noun, notes = rec.unit.noun, []
    undrawn = [
        f"{dim} {g.group} ({n_text(g.counts.rows, g.counts.unknown_rows)})"
        for dim, groups in (*list(rec.by_group.items())[:1], *sizes.items())
        for g in groups
        if not g.counts.known_rows
    ]
    if undrawn:
        notes.append(
            f"No bar for groups without {noun} of known status (their share is undefined, "
            f"\u2014 in the tables): {'; '.join(undrawn)}."
        )
    for dim, groups in sizes.items():
        missing = next((g for g in groups if g.group == NO_SIZE), None)
        if missing is not None:
            notes.append(
                f"{missing.counts.rows:,} of {rec.counts.rows:,} {noun} have no {dim} in the "
                f"trace: the {NO_SIZE} group."
            )
    return notes


# ---------------------------------------------------------------- figures


def _fig_status_by_group(
    dim: str, groups: list[GroupCounts], statuses: tuple[str, ...], noun: str
) -> go.Figure:
    fig = go.Figure()
    # n is every row of the group, as in the table; a group with no known status has no bar
    groups = [g for g in groups if g.counts.known_rows]
    labels = [with_n(short(g.group), g.counts.rows, g.counts.unknown_rows) for g in groups]
    for s in statuses:
        fig.add_bar(
            y=labels,
            x=[g.counts.share(s) for g in groups],
            name=s,
            orientation="h",
            marker_color=COLORS[s],
            customdata=[g.counts.known_rows for g in groups],
            hovertemplate="%{y}: %{x:.1%} of %{customdata:,} "
            + noun
            + f" with a known status<extra>{s}</extra>",
        )
    fig.update_layout(
        barmode="stack",
        template="plotly_white",
        title=f"Final status of {noun} by {dim} (largest groups)",
        xaxis_title=f"share of {noun} with a known status",
        yaxis_title=dim,
        xaxis_tickformat=".0%",
        yaxis_autorange="reversed",
    )
    return fig


def _fig_sizes(sizes: dict[str, list[GroupCounts]], noun: str) -> go.Figure:
    fig = go.Figure()
    for dim, all_buckets in sizes.items():
        # n is every row of the bucket, as in the table; a bucket with no known status has
        # no ratio and no bar (the section's notes name it)
        buckets = [g for g in all_buckets if g.counts.known_rows]
        fig.add_bar(
            x=[g.group for g in buckets],
            y=[g.counts.failure_ratio for g in buckets],
            name=dim,
            text=[n_text(g.counts.rows, g.counts.unknown_rows) for g in buckets],
            textposition="outside",
            customdata=[g.counts.known_rows for g in buckets],
            hovertemplate="%{x}: %{y:.1%} of %{customdata:,} "
            + noun
            + f" with a known status<extra>{dim}</extra>",
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


def _fig_over_time(ot: OverTime, noun: str, time_origin: str) -> go.Figure:
    fig = go.Figure()
    wide = ot.table
    x, x_title = time_axis(wide["bin_start"], time_origin)
    for s in [s for s in STATUSES if s in wide.columns]:
        fig.add_bar(x=x, y=wide[s].to_list(), name=s, marker_color=COLORS[s])
    width = bin_text(ot.bin_s)
    fig.update_layout(
        barmode="stack",
        template="plotly_white",
        title=f"{noun.capitalize()} per {width} by final status",
        xaxis_title=x_title,
        yaxis_title=f"{noun} per {width}",
    )
    return fig


def _fig_ttf(ttf: dict[str, DurationStats], what: str) -> go.Figure:
    fig = go.Figure()
    for d in ttf.values():
        label = with_n(d.status, d.n)
        fig.add_scatter(
            x=[getattr(d, q) for q in QUANTILE_KEYS],
            y=[label] * len(QUANTILE_KEYS),
            mode="lines+markers",
            text=[q[:-2] for q in QUANTILE_KEYS],
            name=d.status,
            marker_color=COLORS.get(d.status, "#333333"),
            showlegend=False,
            hovertemplate="%{text}: %{x:.3g} s<extra>" + label + "</extra>",
        )
    fig.update_layout(
        template="plotly_white",
        title=f"{what} by final status (markers: p10, p25, p50, p75, p90, p99)",
        xaxis_title=f"{what} (s, log scale)",
        xaxis_type="log",
        yaxis_title="final status",
    )
    return fig


def _fig_hours(hours: dict[int, StatusCounts], noun: str) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(
        x=list(hours),
        y=[c.failure_ratio for c in hours.values()],
        mode="lines+markers",
        customdata=[c.known_rows for c in hours.values()],
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
    jobs = {(c, k): n for c, k, n in part.select("cluster", "kind", "jobs").iter_rows()}
    x = [[c for c, _ in cats], [with_n(k, jobs.get((c, k))) for c, k in cats]]
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
        xaxis_title="cluster / job kind (n = jobs)",
        yaxis_title="published share",
        yaxis_tickformat=".0%",
    )
    return fig


# ---------------------------------------------------------------- section


def _published_part(pub: PublishedShares, sec: Section) -> None:
    sec.tables["published_final_states"] = _published_table(pub.table)
    sec.figures.append(
        _fig_published(
            pub.table, "jobs_share", "Published final status of jobs per cluster and job kind"
        )
    )
    if pub.gpu_time_by_cluster:
        sec.figures.append(
            _fig_published(
                pub.table, "gpu_time_share", "Published share of GPU time per final status"
            )
        )
    sec.notes.append(
        "Published by the trace authors (cluster_summary), not recomputed: shares are rounded to "
        "0.001 and need not add up to 1; ratio_by_status pools the clusters that publish shares, "
        "weighted by their job counts; the publisher records no unknown final state."
    )
    gpu = {
        c: k["gpu"] for c, k in pub.by_cluster_kind.items() if "gpu" in k and "failed" in k["gpu"]
    }
    if gpu:
        lo = min(gpu, key=lambda c: gpu[c]["failed"])
        hi = max(gpu, key=lambda c: gpu[c]["failed"])
        sec.findings.append(
            f"Published GPU-job failure shares range from {gpu[lo]['failed']:.1%} ({lo}) to "
            f"{gpu[hi]['failed']:.1%} ({hi}) across {len(gpu)} clusters."
        )
    shares = pub.gpu_time_by_cluster
    if shares:

        def lost(c: str) -> float:
            return sum(v for s, v in shares[c].items() if s in UNSUCCESSFUL)

        worst = max(shares, key=lost)
        sec.findings.append(
            f"In {worst}, failed and cancelled jobs took {lost(worst):.1%} of all GPU time "
            f"(published), the most of any cluster."
        )


def _records_part(rec: RecordedFailures, sec: Section) -> None:
    noun = rec.unit.noun
    counts = rec.counts
    statuses = _known_statuses(rec)
    sizes = with_no_size(rec)

    sec.tables["ratio_by_status"] = _status_table(counts)
    for d, groups in rec.by_group.items():
        sec.tables[f"by_{d}"] = counts_table(groups, statuses, "group")
    for d, buckets in sizes.items():
        sec.tables[f"by_{d}"] = counts_table(buckets, statuses, "bucket")
    if rec.time_to_failure:
        sec.tables["time_to_failure"] = _duration_table(rec.time_to_failure)
    if rec.over_time is not None:
        sec.tables["over_time"] = _over_time_table(rec.over_time, rec.time_origin)

    what = "Run time" if rec.unit is JOBS else "Duration"
    figs = [
        _fig_status_by_group(*next(iter(rec.by_group.items())), statuses, noun)
        if rec.by_group
        else None,
        _fig_sizes(sizes, noun) if sizes else None,
        _fig_over_time(rec.over_time, noun, rec.time_origin) if rec.over_time else None,
        _fig_ttf(rec.time_to_failure, what) if rec.time_to_failure else None,
        _fig_hours(rec.by_hour, noun) if rec.by_hour else None,
    ]
    sec.figures.extend([f for f in figs if f is not None][:4])

    ratio = counts.failure_ratio
    known = " with a known final status" if counts.unknown_rows else ""
    parts = ", ".join(f"{s} {counts.share(s):.1%}" for s in UNSUCCESSFUL if counts.counts.get(s))
    text = (
        f"{ratio or 0.0:.1%} of {counts.known_rows:,} {noun}{known} ended unsuccessfully ({parts})"
    )
    if counts.unknown_rows:
        text += (
            f"; {counts.unknown_rows:,} of {counts.rows:,} {noun} have no final status in the "
            "trace and are left out"
        )
    sec.findings.append(text + ".")
    labels = {
        "gpu_hours": "GPU-hours",
        "cpu_hours": "CPU-hours",
        "input_tokens": "input tokens",
        "busy_hours": "busy hours",
    }
    by_measure = {r.measure: r for r in rec.resources_lost}
    for m, label in labels.items():
        loss = by_measure.get(m)
        if loss is not None and loss.lost > 0 and loss.share_lost is not None:
            digits = 0 if "tokens" in m else 1
            sec.findings.append(
                f"Unsuccessful {noun} used {loss.lost:,.{digits}f} {label}, "
                f"{loss.share_lost:.1%} of all {label} recorded"
                + (f" for {noun} with a known status." if counts.unknown_rows else ".")
            )
            break
    ttf = rec.time_to_failure.get("unsuccessful")
    if ttf is not None:
        ok = rec.time_to_failure.get("ok")
        sec.findings.append(
            f"Unsuccessful {noun} ended after a median {seconds_text(ttf.p50_s)} "
            f"(p90 {seconds_text(ttf.p90_s)})"
            + (f", successful ones after {seconds_text(ok.p50_s)}." if ok else ".")
        )
    for dim, groups in rec.by_group.items():
        floor = max(10, int(0.01 * counts.known_rows))
        cand = [
            g
            for g in groups
            if g.group not in FOLDED
            and g.counts.known_rows >= floor
            and g.counts.failure_ratio is not None
        ]
        if len(cand) >= 2:
            top = min(cand, key=lambda g: (-(g.counts.failure_ratio or 0.0), g.group))
            sec.findings.append(
                f"By {dim}, {short(top.group)} has the highest unsuccessful share: "
                f"{top.counts.failure_ratio:.1%} of its {top.counts.known_rows:,} {noun}"
                + (" with a known status." if top.counts.unknown_rows else ".")
            )
            break

    sec.notes.append(DEFINITION)
    sec.notes += _group_notes(rec, sizes)
    if counts.unknown_rows:
        sec.notes.append(
            f"{counts.unknown_rows:,} of {counts.rows:,} {noun} "
            f"({counts.unknown_rows / counts.rows:.1%}) have status `unknown`; tables show "
            f"their number (unknown_rows) and a share of \u2014 where a group has no {noun} "
            "with a known status."
        )
    if rec.time_origin != "absolute":
        sec.notes.append(
            "No hour-of-day breakdown: the trace's timestamps are relative to its start, so the "
            "time of day is unknown; time is shown as time since the trace's start."
        )
    if rec.unit is JOBS:
        sec.notes.append(
            "A job's time (over time, hour of day) is its submission, else its start, else its end;"
            " resources lost are run time x GPUs (or CPUs) requested, for jobs with a run time."
        )


def section(result: FailuresResult) -> Section:
    """The failures section of one trace."""
    sec = Section(key=KEY, title="Failures", numbers=numbers(result))
    if result.recorded is not None:
        _records_part(result.recorded, sec)
        sec.title = f"Failures of {result.recorded.unit.noun}"
    if result.published is not None:
        _published_part(result.published, sec)
        if result.recorded is None:
            sec.title = "Failures (published final-state shares)"
    sec.findings = sec.findings[:4]
    sec.figures = drawable(sec.figures)
    return sec


__all__ = ["COLORS", "DEFINITION", "KNOWN", "numbers", "section"]
