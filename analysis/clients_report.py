"""Presentation of `analysis.clients` (per-client rates and burstiness) for the report."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go
import polars as pl

from analysis.clients import TOP_SHARE, ClientsResult
from analysis.describe import count, num, pct
from analysis.presentation import drawable, time_axis
from analysis.section import Section

TOP_CLIENTS = 15


def _fig_skew(result: ClientsResult) -> go.Figure:
    req = result.per_client["requests"]
    total = float(req.sum()) or 1.0
    n = result.clients
    fig = go.Figure()
    fig.add_scatter(
        x=[0.0] + [(i + 1) / n for i in range(n)],
        y=[0.0, *(req.cum_sum() / total).to_list()],
        mode="lines+markers",
        name=f"clients (n={n})",
    )
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot"}, name="every client equal"
    )
    fig.update_layout(
        title="Skew across clients: share of requests from the busiest clients",
        xaxis_title="share of clients, busiest first",
        yaxis_title="share of requests",
        xaxis_tickformat=".0%",
        yaxis_tickformat=".0%",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def _fig_rate_vs_cv(result: ClientsResult) -> go.Figure:
    per = result.per_client.filter(pl.col("iat_cv_p50").is_not_null())
    fig = go.Figure()
    fig.add_scatter(
        x=per["mean_rate"].to_list(),
        y=per["iat_cv_p50"].to_list(),
        mode="markers",
        text=[
            f"{e}: {a} active windows" for e, a in zip(per["entity"], per["active"], strict=True)
        ],
        name=f"clients (n={per.height})",
    )
    fig.add_hline(y=1.0, line_dash="dot", annotation_text="Poisson (CV = 1)")
    fig.update_layout(
        title="Per client: mean rate against median inter-arrival CV",
        xaxis_title="mean rate over all windows (req/s, log scale)",
        xaxis_type="log",
        yaxis_title="median inter-arrival CV of active windows",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def _fig_over_time(result: ClientsResult) -> go.Figure:
    over = result.over_time
    starts = [datetime.fromtimestamp(s, UTC) for s in over["window_start_s"].to_list()]
    x, x_title = time_axis(starts, result.time_origin)
    fig = go.Figure()
    fig.add_scatter(x=x, y=over["rate"].to_list(), mode="lines", name="all clients (req/s)")
    fig.add_scatter(
        x=x,
        y=over["active_clients"].to_list(),
        mode="lines",
        name="clients with traffic",
        yaxis="y2",
    )
    fig.update_layout(
        title=f"Request rate of all clients per {result.window_s / 60:g}-minute window",
        xaxis_title=x_title,
        yaxis_title="requests per second",
        yaxis2={"title": "clients with traffic", "overlaying": "y", "side": "right"},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def _table(result: ClientsResult) -> pl.DataFrame:
    total = float(result.requests) or 1.0
    laws = [c for c in ("Gamma", "Weibull") if c in result.per_client.columns]
    return result.per_client.head(TOP_CLIENTS).select(
        pl.col("entity").alias("client"),
        pl.col("active").alias("active windows"),
        "requests",
        (pl.col("requests") / total).alias("share"),
        pl.col("mean_rate").alias("mean rate (req/s)"),
        pl.col("peak_rate").alias("peak rate (req/s)"),
        pl.col("rate_cv").alias("rate CV across windows"),
        pl.col("iat_cv_p50").alias("median inter-arrival CV"),
        *[pl.col(c).alias(f"{c} windows") for c in laws],
    )


def _findings(result: ClientsResult) -> list[str]:
    out = []
    window = f"{result.window_s / 60:g}-minute"
    if result.clients > 1:
        out.append(
            f"{count(result.clients)} clients sent {count(result.requests)} requests; the "
            f"busiest ({result.top_client}) sent {pct(result.top_client_share)}, the busiest "
            f"{result.top_clients} ({pct(TOP_SHARE, 0)} of clients) "
            f"{pct(result.top_clients_share)}."
        )
        out.append(
            f"The median client averages {num(result.mean_rate_p50)} req/s (the busiest "
            f"{num(result.mean_rate_max)}) and has traffic in {pct(result.active_share)} of "
            f"its {window} windows overall."
        )
    else:
        out.append(
            f"One client sent {count(result.requests)} requests over {count(result.windows)} "
            f"{window} windows, with traffic in {pct(result.active_share)} of them."
        )
    out.append(
        f"Within a window arrivals are burstier than Poisson: median inter-arrival CV "
        f"{num(result.iat_cv_p50)} (p90 {num(result.iat_cv_p90)}), above 1 in "
        f"{pct(result.bursty_window_share)} of client-windows with traffic; "
        f"{result.bursty_clients} of {result.clients} clients have a median CV above 1."
        if (result.iat_cv_p50 or 0) > 1
        else f"Median inter-arrival CV within a window {num(result.iat_cv_p50)} (p90 "
        f"{num(result.iat_cv_p90)}); {pct(result.bursty_window_share)} of client-windows with "
        f"traffic exceed 1 (burstier than Poisson)."
    )
    out.append(
        f"Across windows a client's rate varies with a median CV of {num(result.rate_cv_p50)}; "
        f"all clients together peak at {num(result.peak_to_mean)}x their mean rate."
    )
    fitted = result.gamma_windows + result.weibull_windows
    if fitted:
        out.append(
            f"The publisher fitted a Gamma law to {pct(result.gamma_windows / fitted)} of the "
            f"{count(fitted)} windows with traffic and a Weibull law to the rest."
        )
    return out


def numbers(result: ClientsResult) -> dict[str, Any]:
    fields = asdict(result)
    for key in ("trace", "time_origin", "per_client", "over_time"):
        del fields[key]
    return fields


def section(result: ClientsResult) -> Section:
    figures = [_fig_over_time(result)]
    if result.clients > 1:
        figures = [_fig_skew(result), _fig_rate_vs_cv(result), *figures]
    return Section(
        key="clients",
        title="Per-client rates and burstiness",
        numbers=numbers(result),
        tables={f"Busiest clients (of {result.clients})": _table(result)},
        figures=drawable(figures),
        findings=_findings(result),
        notes=[
            "Published per-client statistics, not requests: requests are rate x window length; "
            "the inter-arrival CV of a window is the publisher's, given for windows with traffic."
        ],
    )
