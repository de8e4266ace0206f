"""Per-client arrival statistics: how rate and burstiness are spread over the clients of a service.

ServeGen (Xiang et al., 2025) releases no requests, only per-client statistics: for every
10-minute window, each client's request rate and the coefficient of variation of its
inter-arrival times, with a Gamma or Weibull law fitted to them (`series` metrics
`request_rate` and `inter_arrival_cv`, fits in `summaries`). Its users ask how skewed the
traffic is across clients (a few clients carry most requests), how bursty each client is within
a window (inter-arrival CV, 1 for Poisson) and across windows (CV of the client's rate), and
which law fits. SQL in analysis/queries/clients_*.sql.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from analysis.db import LakeDB

TOP_SHARE = 0.10  # the busiest tenth of the clients


@dataclass(frozen=True)
class ClientsResult:
    """The clients of one trace. Rates are req/s, shares fractions, CVs dimensionless."""

    trace: str
    time_origin: str  # absolute | relative (ServeGen's windows count from the day's start)
    window_s: float  # length of a window (s)
    clients: int
    windows: int  # windows per client (the longest client's)
    requests: int  # sum over clients and windows of rate x window length
    active_share: float  # client-windows with traffic / client-windows
    top_client: str
    top_client_share: float  # its share of the requests
    top_clients: int  # the busiest TOP_SHARE of clients, at least one
    top_clients_share: float  # their share of the requests
    mean_rate_p50: float  # median over clients of their mean rate (req/s, over all windows)
    mean_rate_max: float
    rate_cv_p50: float | None  # median over clients of the CV of their rate across windows
    iat_cv_p50: float | None  # median inter-arrival CV over all client-windows with traffic
    iat_cv_p90: float | None
    bursty_window_share: float | None  # client-windows with inter-arrival CV > 1
    bursty_clients: int  # clients whose median window CV exceeds 1
    gamma_windows: int  # windows whose arrivals the publisher fitted with a Gamma law
    weibull_windows: int
    peak_to_mean: float | None  # all clients together: peak window rate / mean window rate
    per_client: pl.DataFrame  # entity, windows, active, requests, mean_rate, peak_rate, ...
    over_time: pl.DataFrame  # window_start_s, rate (all clients), active_clients


def compute(db: LakeDB, trace: str) -> ClientsResult | None:
    """Per-client rates of a trace's series; None when it has no `request_rate` metric."""
    if not db.has(trace, "series"):
        return None
    per = db.query_rounded("clients_per_client", trace=trace)
    if per.is_empty():
        return None
    cvq = db.quantiles("clients_cv_values", (0.5, 0.9), trace=trace)
    per_cv = cvq.filter(pl.col("part") == "client").select(
        pl.col("grp").alias("entity"), pl.col("p50").alias("iat_cv_p50")
    )
    pooled = cvq.filter(pl.col("part") == "all")
    fits = db.query("clients_fits", trace=trace)
    laws = (
        fits.pivot(on="distribution", index="entity", values="windows").fill_null(0)
        if fits.height
        else pl.DataFrame(schema={"entity": pl.String})
    )
    per = (
        per.with_columns(
            pl.col("requests").round(0).cast(pl.Int64),
            (pl.col("rate_std") / pl.col("mean_rate")).alias("rate_cv"),
        )
        .join(per_cv, on="entity", how="left")
        .join(laws, on="entity", how="left")
        .sort("requests", "entity", descending=[True, False])
    )
    total = int(per["requests"].sum())
    n_top = max(1, math.ceil(TOP_SHARE * per.height))
    over = db.query_rounded("clients_over_time", trace=trace)
    mean_total = float(over["rate"].mean()) if over.height else 0.0  # type: ignore[arg-type]
    bursty = None
    cv_all = db.query("clients_bursty_windows", trace=trace)
    if cv_all.height and cv_all["windows"][0]:
        bursty = float(cv_all["bursty"][0]) / float(cv_all["windows"][0])
    laws_total = {c: int(per[c].sum()) for c in ("Gamma", "Weibull") if c in per.columns}
    rate_cv = per["rate_cv"].drop_nulls()
    return ClientsResult(
        trace=trace,
        time_origin=db.info(trace).time_origin,
        window_s=float(per["window_s"].max()),  # type: ignore[arg-type]
        clients=per.height,
        windows=int(per["windows"].max()),  # type: ignore[arg-type]
        requests=total,
        active_share=float(per["active"].sum()) / float(per["windows"].sum()),
        top_client=str(per["entity"][0]),
        top_client_share=float(per["requests"][0]) / total if total else 0.0,
        top_clients=n_top,
        top_clients_share=float(per["requests"].head(n_top).sum()) / total if total else 0.0,
        mean_rate_p50=float(per["mean_rate"].median()),  # type: ignore[arg-type]
        mean_rate_max=float(per["mean_rate"].max()),  # type: ignore[arg-type]
        rate_cv_p50=float(rate_cv.median()) if rate_cv.len() else None,  # type: ignore[arg-type]
        iat_cv_p50=float(pooled["p50"][0]) if pooled.height else None,
        iat_cv_p90=float(pooled["p90"][0]) if pooled.height else None,
        bursty_window_share=bursty,
        bursty_clients=int((per["iat_cv_p50"].drop_nulls() > 1.0).sum()),
        gamma_windows=laws_total.get("Gamma", 0),
        weibull_windows=laws_total.get("Weibull", 0),
        peak_to_mean=float(over["rate"].max()) / mean_total if mean_total else None,  # type: ignore[arg-type]
        per_client=per,
        over_time=over,
    )
