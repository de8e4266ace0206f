"""Utilization and other level series per machine or container (the `series` table).

Machine usage (Alibaba 2018: CPU, memory, network, disk per machine every ~10 s) and monitoring
samples (Alibaba GenAI 2026: model-load and inference latency per container) are series of a
level, not counts of arrivals: their users ask how the level is distributed over samples and
machines, how it moves through the day, how unevenly machines are loaded, where the hot spots
are and how much of the series is missing. Arrival counts and rates in `series` (Azure Functions
invocations, ServeGen request rates) belong to the burstiness and clients analyses.

Definitions (SQL in analysis/queries/utilization_*.sql):

- a *sample* is one row: one entity at one time; invalid markers (Alibaba's -1/101) are stored
  as NULL values and counted as invalid, never as zero;
- *imbalance* of a metric is the largest entity mean over the mean of entity means (1 = every
  machine equally loaded); the same ratio is taken within each hour bin, and its median reported;
- a *hot spot* is a sample of a percent metric at or above `HOT_PERCENT`; a hot entity spends at
  least `HOT_ENTITY_SHARE` of its valid samples there;
- *missing* hours are hour bins without any sample of the metric inside an entity's own span
  (first to last sample): monitoring gaps, not machines that were not there yet;
- the *diurnal* profile is the mean over days of each hour of the trace clock (for relative
  traces, hours of the trace's own clock, not local time), shown only for series covering a day.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analysis.db import LakeDB

BIN_S = 3600.0
HOT_PERCENT = 80.0
HOT_ENTITY_SHARE = 0.10
# An entity whose span covers less than this share of the metric's span counts as partial.
PARTIAL_SPAN = 0.9
PARTIAL_EXAMPLES = 5
# A day-of-hours profile needs each hour of the clock seen on at least two days.
DIURNAL_MIN_S = 2 * 86400.0
# A diurnal profile whose busiest hour is at least this many times its quietest is a cycle.
DAILY_CYCLE = 1.25
QUANTILES = (0.1, 0.5, 0.9, 0.99)


@dataclass(frozen=True)
class MetricUtilization:
    """One level metric of one trace. Values are in `unit`; shares are fractions in [0, 1]."""

    metric: str
    unit: str | None
    samples: int  # rows: one entity at one time
    invalid: int  # samples whose value was an invalid marker (stored as NULL)
    unattributed: int  # samples with no entity (left out of the per-entity numbers)
    entities: int  # distinct machines or containers
    recorded_share: float  # samples / sampling instants (entity, time) of every level metric
    mean: float | None  # over valid samples
    p10: float | None
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None
    entity_mean_min: float | None  # the least loaded entity's mean
    entity_mean_p50: float | None  # median over entities of their mean
    entity_mean_max: float | None  # the most loaded entity's mean
    imbalance: float | None  # entity_mean_max / mean of entity means (1 = balanced)
    entity_cv: float | None  # population std / mean of the entity means
    hourly_imbalance_p50: float | None  # median over hour bins of max / mean entity mean
    hot_threshold: float | None  # HOT_PERCENT for percent metrics, else None
    hot_share: float | None  # valid samples at or above the threshold / valid samples
    hot_entities: int | None  # entities with >= HOT_ENTITY_SHARE of their samples hot
    hottest_entity: str | None
    hottest_entity_share: float | None  # that entity's share of hot samples
    missing_hour_share: float | None  # entity-hours without a sample inside each entity's span
    partial_entities: int  # entities covering < PARTIAL_SPAN of the metric's span
    partial_examples: tuple[str, ...]  # the first PARTIAL_EXAMPLES of them, by name
    span_hours: int  # hour bins from the metric's first to its last sample
    diurnal: tuple[float | None, ...] | None  # mean per hour of the clock (24), None < 2 days
    peak_hour: int | None  # hour of the clock with the highest diurnal mean
    trough_hour: int | None
    peak_to_trough: float | None  # diurnal maximum / minimum


@dataclass(frozen=True)
class UtilizationResult:
    """Every level metric of one trace, with the tables the figures are drawn from."""

    trace: str
    relative_time: bool  # time since the trace's start, not calendar time
    bin_s: float  # width of the time bins (s)
    metrics: tuple[MetricUtilization, ...]
    entities: pl.DataFrame  # metric, entity, samples, valid, mean, max, hot, hot_share, bins, ...
    bins: pl.DataFrame  # metric, bin_start_s, entities, mean, max_entity_mean, min_entity_mean

    def metric(self, name: str) -> MetricUtilization:
        for m in self.metrics:
            if m.metric == name:
                return m
        raise KeyError(f"{self.trace} has no level metric {name!r}")


def _opt(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _diurnal(bins: pl.DataFrame) -> tuple[float | None, ...] | None:
    """Mean of the hour-bin means per hour of the clock; None unless the bins span two days."""
    if bins.is_empty():
        return None
    start = bins["bin_start_s"]
    if float(start.max()) - float(start.min()) + BIN_S < DIURNAL_MIN_S:  # type: ignore[arg-type]
        return None
    by_hour = (
        bins.with_columns(((pl.col("bin_start_s") // BIN_S) % 24).cast(pl.Int64).alias("hour"))
        .group_by("hour")
        .agg(pl.col("mean").mean())
    )
    means = dict(zip(by_hour["hour"].to_list(), by_hour["mean"].to_list(), strict=True))
    return tuple(_opt(means.get(h)) for h in range(24))


def _metric(
    row: dict[str, object], q: dict[str, object], ents: pl.DataFrame, bins: pl.DataFrame
) -> MetricUtilization:
    unit = row["unit"]
    percent = unit == "percent"
    valid = ents.filter(pl.col("valid") > 0)
    means = valid["mean"]
    n_ent = valid.height
    avg_of_means = float(means.mean()) if n_ent else None  # type: ignore[arg-type]
    imbalance = entity_cv = None
    if n_ent and avg_of_means:
        imbalance = float(means.max()) / avg_of_means  # type: ignore[arg-type]
        entity_cv = float(means.std(ddof=0)) / avg_of_means  # type: ignore[arg-type]
    multi = bins.filter((pl.col("entities") > 1) & (pl.col("mean") != 0))
    hourly = (multi["max_entity_mean"] / multi["mean"]).median() if multi.height else None
    hot_share = hot_entities = hottest = hottest_share = None
    if percent and n_ent:
        hot_share = float(valid["hot"].sum()) / float(valid["valid"].sum())
        shares = valid.with_columns((pl.col("hot") / pl.col("valid")).alias("s")).sort(
            ["s", "entity"], descending=[True, False]
        )
        hot_entities = int((shares["s"] >= HOT_ENTITY_SHARE).sum())
        hottest, hottest_share = str(shares["entity"][0]), float(shares["s"][0])
    timed = ents.filter(pl.col("bins").is_not_null())
    missing = None
    partial: list[str] = []
    span_hours = 0
    if timed.height:
        own = timed["last_bin"] - timed["first_bin"] + 1
        missing = float((own - timed["bins"]).sum()) / float(own.sum())
        span_hours = int(timed["last_bin"].max() - timed["first_bin"].min() + 1)  # type: ignore[operator]
        partial = timed.filter(own < PARTIAL_SPAN * span_hours)["entity"].sort().to_list()
    diurnal = _diurnal(bins)
    peak = trough = ratio = None
    if diurnal is not None:
        known = [(v, h) for h, v in enumerate(diurnal) if v is not None]
        (hi, peak), (lo, trough) = max(known), min(known)
        ratio = hi / lo if lo else None
    return MetricUtilization(
        metric=str(row["metric"]),
        unit=None if unit is None else str(unit),
        samples=int(row["samples"]),  # type: ignore[call-overload]
        invalid=int(row["invalid"]),  # type: ignore[call-overload]
        unattributed=int(row["unattributed"]),  # type: ignore[call-overload]
        entities=int(row["entities"]),  # type: ignore[call-overload]
        recorded_share=int(row["samples"]) / int(row["instants"]),  # type: ignore[call-overload]
        mean=_opt(q.get("mean")),
        p10=_opt(q.get("p10")),
        p50=_opt(q.get("p50")),
        p90=_opt(q.get("p90")),
        p99=_opt(q.get("p99")),
        max=_opt(q.get("x_max")),
        entity_mean_min=_opt(means.min()) if n_ent else None,
        entity_mean_p50=_opt(means.median()) if n_ent else None,
        entity_mean_max=_opt(means.max()) if n_ent else None,
        imbalance=imbalance,
        entity_cv=entity_cv,
        hourly_imbalance_p50=_opt(hourly),
        hot_threshold=HOT_PERCENT if percent else None,
        hot_share=hot_share,
        hot_entities=hot_entities,
        hottest_entity=hottest,
        hottest_entity_share=hottest_share,
        missing_hour_share=missing,
        partial_entities=len(partial),
        partial_examples=tuple(partial[:PARTIAL_EXAMPLES]),
        span_hours=span_hours,
        diurnal=diurnal,
        peak_hour=peak,
        trough_hour=trough,
        peak_to_trough=ratio,
    )


def compute(db: LakeDB, trace: str) -> UtilizationResult | None:
    """The level metrics of a trace's `series`; None when it has none (or only arrivals)."""
    if not db.has(trace, "series"):
        return None
    metrics = db.query("utilization_metrics", trace=trace)
    if metrics.is_empty():
        return None
    quant = db.quantiles("utilization_values", QUANTILES, trace=trace)
    qs = {r["grp"]: r for r in quant.iter_rows(named=True)}
    ents = db.query_rounded("utilization_entities", trace=trace, hot=HOT_PERCENT, bin_s=BIN_S)
    ents = ents.with_columns(
        pl.when(pl.col("valid") > 0).then(pl.col("hot") / pl.col("valid")).alias("hot_share")
    )
    bins = db.query_rounded("utilization_bins", trace=trace, bin_s=BIN_S)
    out = [
        _metric(
            row,
            qs.get(row["metric"], {}),
            ents.filter(pl.col("metric") == row["metric"]),
            bins.filter(pl.col("metric") == row["metric"]),
        )
        for row in metrics.iter_rows(named=True)
    ]
    return UtilizationResult(
        trace=trace,
        relative_time=db.info(trace).time_origin == "relative",
        bin_s=BIN_S,
        metrics=tuple(out),
        entities=ents,
        bins=bins,
    )
