"""Presentation of `analysis.stragglers` (straggler share per job) for the report."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import plotly.graph_objects as go
import polars as pl

from analysis.describe import count, listing, num, pct
from analysis.presentation import drawable
from analysis.section import Section
from analysis.stragglers import HIGH_CV, StragglersResult


def _fig_jobs(result: StragglersResult) -> go.Figure:
    names = [f"{j.job} (n={j.iterations:,} it.)" for j in result.jobs]
    fig = go.Figure()
    fig.add_bar(
        x=names, y=[j.straggler_share for j in result.jobs], name="straggling worker-iterations"
    )
    fig.add_bar(x=names, y=[j.lost_share for j in result.jobs], name="iteration time lost")
    fig.update_layout(
        barmode="group",
        title=f"Stragglers per job (worker > {result.factor:g}x the iteration's median)",
        xaxis_title="job (iterations)",
        yaxis_title="share",
        yaxis_tickformat=".0%",
        legend={"orientation": "h", "y": -0.3},
    )
    return fig


def _fig_workers(result: StragglersResult) -> go.Figure:
    fig = go.Figure()
    for (job,), grp in result.workers.group_by("job", maintain_order=True):
        fig.add_bar(
            x=[w.split("/", 1)[-1] for w in grp["worker"].to_list()],
            y=(grp["straggling"] / grp["iterations"]).to_list(),
            name=str(job),
        )
    fig.update_layout(
        barmode="group",
        title="Share of its iterations in which each worker straggles",
        xaxis_title="worker",
        yaxis_title="share of the worker's iterations",
        yaxis_tickformat=".0%",
        legend={"orientation": "h", "y": -0.3},
    )
    return fig


def _fig_published(result: StragglersResult) -> go.Figure:
    pub = result.published.sort("p50")
    fig = go.Figure()
    fig.add_scatter(
        x=list(range(1, pub.height + 1)),
        y=pub["p50"].to_list(),
        mode="markers",
        name="median over iterations",
        text=[f"{g}: {n:,} iterations" for g, n in zip(pub["grp"], pub["n"], strict=True)],
    )
    fig.add_scatter(
        x=list(range(1, pub.height + 1)),
        y=pub["p90"].to_list(),
        mode="markers",
        name="p90 over iterations",
    )
    fig.update_layout(
        title=f"Published per-iteration CoV of the workers' times ({pub.height} jobs)",
        xaxis_title="job, by median CoV",
        yaxis_title="CoV (std / mean of the workers)",
        yaxis_type="log",
        legend={"orientation": "h", "y": -0.3},
    )
    return fig


def _table(result: StragglersResult) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "job": j.job,
                "workers": j.workers,
                "iterations": j.iterations,
                "partial iterations": j.partial_iterations,
                "straggling worker-iterations": j.straggler_share,
                "iterations with a straggler": j.iterations_with_straggler,
                "slowest / median": j.slowest_over_median,
                "time lost": j.lost_share,
                "CV p50": j.cv_p50,
                "CV p90": j.cv_p90,
                "persistent stragglers": len(j.persistent),
            }
            for j in result.jobs
        ]
    )


def _findings(result: StragglersResult) -> list[str]:
    out = []
    for j in result.jobs:
        line = (
            f"{j.job}: {pct(j.straggler_share)} of {count(j.worker_iterations)} "
            f"worker-iterations straggle (> {result.factor:g}x the median worker), in "
            f"{pct(j.iterations_with_straggler)} of {count(j.iterations)} iterations; the slowest "
            f"worker averages {num(j.slowest_over_median)}x the median, so "
            f"{pct(j.lost_share)} of iteration time is spent waiting for it"
        )
        if j.persistent:
            names = [w.split("/", 1)[-1] for w in j.persistent]
            line += (
                f"; {len(names)} of {j.workers} workers straggle in at least "
                f"{pct(result.persistent_share, 0)} of iterations ({listing(names)}): persistent, "
                "not transient"
            )
        out.append(line + ".")
    if result.published_jobs:
        out.append(
            f"Published CoV table: {result.published_jobs} jobs, "
            f"{count(result.published_iterations)} iterations; median CoV "
            f"{num(result.published_cv_p50)}, p90 {num(result.published_cv_p90)}; "
            f"{result.published_high_jobs} jobs have a median CoV above {HIGH_CV:g}."
        )
    return out


def numbers(result: StragglersResult) -> dict[str, Any]:
    jobs = {}
    for j in result.jobs:
        fields = asdict(j)
        del fields["job"]
        fields["persistent"] = list(j.persistent)
        jobs[j.job] = fields
    return {
        "factor": result.factor,
        "persistent_share": result.persistent_share,
        "jobs": jobs,
        "published_jobs": result.published_jobs,
        "published_iterations": result.published_iterations,
        "published_cv_p50": result.published_cv_p50,
        "published_cv_p90": result.published_cv_p90,
        "published_high_jobs": result.published_high_jobs,
    }


def section(result: StragglersResult) -> Section:
    figures = []
    tables = {}
    if result.jobs:
        figures += [_fig_jobs(result), _fig_workers(result)]
        tables["Jobs with per-worker times"] = _table(result)
    if result.published_jobs:
        figures.append(_fig_published(result))
        tables["Published per-iteration CoV, per job"] = result.published.rename(
            {"grp": "job", "n": "iterations"}
        )
    return Section(
        key="stragglers",
        title="Stragglers among the workers of training jobs",
        numbers=numbers(result),
        tables=tables,
        figures=drawable(figures),
        findings=_findings(result),
        notes=[
            f"A worker straggles in an iteration when its time exceeds {result.factor:g}x the "
            "median worker's; time lost is (slowest - median) / slowest summed over iterations; "
            "the release normalizes times (0-1000), so only ratios are shown. The jobs with "
            "per-worker times and those of the CoV table are separate samples."
        ],
    )
