"""Failures, the compute step: how often work ends unsuccessfully, where, when, at what cost.

Works on `jobs` (final state of batch, GPU and HPC jobs) and on `requests` (BurstGPT's
zero-token responses, GenAI failures), and on published final-state shares of summaries-only
traces (Acme's cluster_summary). `compute` returns a `FailuresResult`; the tables, figures and
sentences are made from it by `analysis.failures_report`.

One definition of the failure ratio, used everywhere (report, comparison table, dashboard,
notebooks): unsuccessful = failed + cancelled + timeout + killed + evicted, over the rows whose
final status is known. Rows with status `unknown` (the trace records no outcome, or the job was
still running when the sample ends) are counted and reported, and left out of every ratio.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from analysis.db import LakeDB, quantile_name
from analysis.db import rounded_table as rounded_table  # re-exported

KEY = "failures"
UNSUCCESSFUL = ("failed", "cancelled", "timeout", "killed", "evicted")
KNOWN = ("ok", *UNSUCCESSFUL)
STATUSES = (*KNOWN, "unknown")
TOP = 10
MAX_BINS = 500
# Groups that are not one value of the grouping column: small ones folded, and NULL.
FOLDED = ("(other)", "(unknown)")
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


# ---------------------------------------------------------------- typed results


@dataclass(frozen=True)
class StatusCounts:
    """Rows per final status of a set of rows (a whole trace, or one group of it).

    `counts`: rows per canonical status present (`unknown` included). Every share is of the
    rows with a known status; `unknown` rows are counted apart and never in a share.
    """

    counts: Mapping[str, int]

    @property
    def rows(self) -> int:
        """All rows, `unknown` included."""
        return int(sum(self.counts.values()))

    @property
    def unknown_rows(self) -> int:
        """Rows whose final status the trace does not record."""
        return int(self.counts.get("unknown", 0))

    @property
    def known_rows(self) -> int:
        """Rows with a known final status: the denominator of every share."""
        return self.rows - self.unknown_rows

    @property
    def unsuccessful_rows(self) -> int:
        """Rows that ended failed, cancelled, timeout, killed or evicted."""
        return int(sum(self.counts.get(s, 0) for s in UNSUCCESSFUL))

    @property
    def failure_ratio(self) -> float | None:
        """Unsuccessful rows over rows with a known status (None when none is known)."""
        known = self.known_rows
        return self.unsuccessful_rows / known if known > 0 else None

    def share(self, status: str) -> float | None:
        """Rows of one known status over rows with a known status (None when none is known)."""
        if status == "unknown":
            raise ValueError("unknown rows are left out of every share; see unknown_rows")
        known = self.known_rows
        return self.counts.get(status, 0) / known if known > 0 else None

    @property
    def statuses(self) -> tuple[str, ...]:
        """The statuses present, in STATUSES order."""
        return tuple(s for s in STATUSES if self.counts.get(s))


@dataclass(frozen=True)
class GroupCounts:
    """Final statuses of one group: a value of a grouping column, or a size bucket.

    `group` is the value, a size-bucket label such as "(4, 8]", or one of FOLDED.
    """

    group: str
    counts: StatusCounts


@dataclass(frozen=True)
class ResourceLoss:
    """How much of one measure unsuccessful rows used.

    `measure` is gpu_hours or cpu_hours (run time x GPUs or CPUs requested, hours), run_hours
    or busy_hours (hours of run time or request duration), input_tokens or output_tokens.
    `by_status`: the measure per unsuccessful status; `total`: over every row with a known
    status (unknown rows are left out, as from every ratio).
    """

    measure: str
    by_status: dict[str, float]
    total: float

    @property
    def lost(self) -> float:
        """Used by unsuccessful rows, in the measure's unit."""
        return sum(self.by_status.values())

    @property
    def share_lost(self) -> float | None:
        """`lost` over `total` (None when the total is zero)."""
        return self.lost / self.total if self.total > 0 else None


@dataclass(frozen=True)
class DurationStats:
    """Run time (jobs) or duration (requests) of the rows of one final status, in seconds.

    `status` is a canonical status or "unsuccessful" (all unsuccessful statuses pooled).
    """

    status: str
    n: int  # rows with a duration
    mean_s: float | None
    p10_s: float | None
    p25_s: float | None
    p50_s: float | None
    p75_s: float | None
    p90_s: float | None
    p99_s: float | None
    max_s: float | None


@dataclass(frozen=True)
class OverTime:
    """Rows per time bin and final status, every bin from the first to the last filled.

    `table` columns: bin_s, bin_start (UTC datetime; for traces with relative time, the
    offset from 1970-01-01 is the time since the trace's start), n (rows in the bin),
    unsuccessful, and one count column per status present.
    """

    bin_s: float  # width of a bin, seconds
    start: datetime  # start of the first bin
    table: pl.DataFrame


@dataclass(frozen=True)
class PublishedShares:
    """Final-state shares as a summaries-only trace publishes them (Acme's cluster_summary).

    Shares are rounded by the publisher and need not add up to 1; a status the publisher does
    not list is absent, and there is no `unknown`.
    """

    table: pl.DataFrame  # `published()`: cluster, kind, metric, status, value, jobs
    by_cluster_kind: dict[str, dict[str, dict[str, float]]]  # cluster -> kind -> status -> share
    by_cluster: dict[str, dict[str, float]]  # pooled over kinds, weighted by jobs
    overall: dict[str, float]  # pooled over clusters, weighted by jobs
    gpu_time_by_cluster: dict[str, dict[str, float]]  # share of GPU time per status
    gpu_hours_by_cluster: dict[str, dict[str, float]]  # GPU-hours per status

    @property
    def failure_ratio(self) -> float:
        """Pooled published share of unsuccessful jobs (the publisher records no unknown)."""
        return sum(v for s, v in self.overall.items() if s in UNSUCCESSFUL)

    @property
    def gpu_hours_lost(self) -> ResourceLoss | None:
        """GPU-hours of unsuccessful jobs over all published GPU-hours."""
        if not self.gpu_hours_by_cluster:
            return None
        per_status: dict[str, float] = {}
        for hours in self.gpu_hours_by_cluster.values():
            for s, v in hours.items():
                per_status[s] = per_status.get(s, 0.0) + v
        lost = {s: v for s, v in sorted(per_status.items()) if s in UNSUCCESSFUL}
        return ResourceLoss("gpu_hours", lost, sum(per_status.values()))


@dataclass(frozen=True)
class RecordedFailures:
    """Failures counted from a trace's own rows (jobs or requests)."""

    unit: Unit
    time_origin: str  # absolute | relative (see TraceInfo)
    counts: StatusCounts
    by_group: dict[str, list[GroupCounts]]  # column -> its TOP largest groups (+ FOLDED)
    by_size: dict[str, list[GroupCounts]]  # size column -> its buckets, smallest first
    by_hour: dict[int, StatusCounts]  # UTC hour of day -> counts (absolute time only)
    resources_lost: list[ResourceLoss]
    time_to_failure: dict[str, DurationStats]  # status or "unsuccessful" -> durations
    over_time: OverTime | None


@dataclass(frozen=True)
class FailuresResult:
    """Failures of one trace: from its rows, from published shares, or both.

    `failure_ratio` is the one failure ratio of the trace (see the module docstring).
    """

    trace: str
    recorded: RecordedFailures | None
    published: PublishedShares | None
    unsuccessful_statuses: tuple[str, ...] = field(default=UNSUCCESSFUL)

    @property
    def failure_ratio(self) -> float | None:
        """Unsuccessful share of rows with a known status, from the rows when the trace has
        them, else the published pooled share."""
        if self.recorded is not None:
            return self.recorded.counts.failure_ratio
        if self.published is not None:
            return self.published.failure_ratio
        return None

    @property
    def ratio_by_status(self) -> dict[str, float]:
        """Share of each known status and `unsuccessful`, over rows with a known status."""
        if self.recorded is not None:
            return status_ratios(self.recorded.counts.counts)
        if self.published is not None:
            return self.published.overall | {"unsuccessful": self.published.failure_ratio}
        return {}

    @property
    def unknown_rows(self) -> int | None:
        """Rows without a known final status (None for published shares)."""
        return self.recorded.counts.unknown_rows if self.recorded is not None else None


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
    """Share of each known status present, plus `unsuccessful`, over the rows whose status is
    known (`unknown` rows left out); empty when no row has a known status."""
    known = float(sum(v for s, v in counts.items() if s != "unknown"))
    if known <= 0:
        return {}
    out = {s: counts[s] / known for s in KNOWN if s in counts}
    out["unsuccessful"] = sum(counts.get(s, 0) for s in UNSUCCESSFUL) / known
    return out


def group_counts(long: pl.DataFrame) -> list[GroupCounts]:
    """(grp, status, n) rows -> one GroupCounts per group, in order of first appearance."""
    out = []
    for (grp,), part in long.group_by("grp", maintain_order=True):
        counts = {s: int(n) for s, n in zip(part["status"], part["n"], strict=True)}
        out.append(GroupCounts(str(grp), StatusCounts(counts)))
    return out


def counts_table(
    groups: list[GroupCounts], statuses: tuple[str, ...], label: str = "grp"
) -> pl.DataFrame:
    """One row per group: `label` (the group), n (rows), unknown_rows, then the unsuccessful
    share and the share of each known status of `statuses`, of the group's known rows (null
    when the group has none)."""
    statuses = tuple(s for s in statuses if s != "unknown")
    rows = [
        (
            g.group,
            g.counts.rows,
            g.counts.unknown_rows,
            g.counts.failure_ratio,
            *(g.counts.share(s) for s in statuses),
        )
        for g in groups
    ]
    schema = {
        label: pl.String,
        "n": pl.Int64,
        "unknown_rows": pl.Int64,
        "unsuccessful": pl.Float64,
    } | {s: pl.Float64 for s in statuses}
    return pl.DataFrame(rows, schema=schema, orient="row")


def ratio_table(long: pl.DataFrame, statuses: tuple[str, ...] | None = None) -> pl.DataFrame:
    """(grp, status, n) rows -> `counts_table` of their groups, for `statuses` (default: the
    known statuses present)."""
    groups = group_counts(long)
    present = statuses or tuple(s for s in KNOWN if any(g.counts.counts.get(s) for g in groups))
    return counts_table(groups, present)


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


# ---------------------------------------------------------------- compute


def _resources_lost(all_rows: pl.DataFrame, unit: Unit) -> list[ResourceLoss]:
    measures = (
        ("gpu_hours", "cpu_hours", "run_hours")
        if unit is JOBS
        else ("busy_hours", "input_tokens", "output_tokens")
    )
    known = all_rows.filter(pl.col("status") != "unknown")
    out = []
    for m in measures:
        if m not in known.columns or known.is_empty() or known[m].null_count() == known.height:
            continue
        per = {
            s: float(v or 0.0)
            for s, v in known.select("status", m).iter_rows()
            if s in UNSUCCESSFUL
        }
        out.append(ResourceLoss(m, per, float(known[m].fill_null(0).sum())))
    # run_hours only matters when no GPU/CPU counts weigh it
    if any(r.measure in ("gpu_hours", "cpu_hours") for r in out):
        out = [r for r in out if r.measure != "run_hours"]
    return out


def _duration_stats(ttf: pl.DataFrame) -> dict[str, DurationStats]:
    return {
        r["grp"]: DurationStats(
            status=r["grp"],
            n=int(r["n"]),
            mean_s=r["mean_s"],
            p10_s=r["p10_s"],
            p25_s=r["p25_s"],
            p50_s=r["p50_s"],
            p75_s=r["p75_s"],
            p90_s=r["p90_s"],
            p99_s=r["p99_s"],
            max_s=r["max_s"],
        )
        for r in ttf.iter_rows(named=True)
    }


def _real(groups: list[GroupCounts]) -> list[GroupCounts]:
    return [g for g in groups if g.group not in FOLDED]


def _recorded(
    db: LakeDB, trace: str, unit: Unit, breakdowns: bool = True
) -> RecordedFailures | None:
    all_rows = breakdown(db, trace, "all", top=0)
    if all_rows.is_empty():
        return None
    counts = StatusCounts(
        {s: int(n) for s, n in zip(all_rows["status"], all_rows["n"], strict=True)}
    )
    if not counts.known_rows:
        return None  # every status unknown: the trace records no outcomes to count
    # Known outcomes and none unsuccessful is a finding too: a failure ratio of 0.
    info = db.info(trace)
    if not breakdowns:
        return RecordedFailures(
            unit=unit,
            time_origin=info.time_origin,
            counts=counts,
            by_group={},
            by_size={},
            by_hour={},
            resources_lost=_resources_lost(all_rows, unit),
            time_to_failure={},
            over_time=None,
        )

    by_group: dict[str, list[GroupCounts]] = {}
    for dim in unit.groups:
        groups = group_counts(breakdown(db, trace, dim, TOP))
        if len(_real(groups)) >= 2:
            # largest first, the folded groups last
            by_group[dim] = sorted(groups, key=lambda g: (g.group in FOLDED, -g.counts.rows))
    by_size: dict[str, list[GroupCounts]] = {}
    for dim, base in unit.sizes:
        buckets = sorted(
            _real(group_counts(breakdown(db, trace, dim, 0))), key=lambda g: int(g.group)
        )
        if len(buckets) >= 2:
            by_size[dim] = [GroupCounts(size_label(int(g.group), base), g.counts) for g in buckets]
    by_hour: dict[int, StatusCounts] = {}
    if info.time_origin == "absolute":
        hours = _real(group_counts(breakdown(db, trace, "hour", 0)))
        by_hour = {int(g.group): g.counts for g in sorted(hours, key=lambda g: int(g.group))}

    wide = over_time(db, trace)
    return RecordedFailures(
        unit=unit,
        time_origin=info.time_origin,
        counts=counts,
        by_group=by_group,
        by_size=by_size,
        by_hour=by_hour,
        resources_lost=_resources_lost(all_rows, unit),
        time_to_failure=_duration_stats(time_to_failure(db, trace)),
        over_time=None
        if wide.is_empty()
        else OverTime(float(wide["bin_s"][0]), wide["bin_start"][0], wide),
    )


def _published(db: LakeDB, trace: str) -> PublishedShares | None:
    pub = published(db, trace)
    if pub.is_empty() or pub.filter(pl.col("metric") == "jobs_share").is_empty():
        return None
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
    return PublishedShares(
        table=pub,
        by_cluster_kind=by_kind,
        by_cluster=pooled,
        overall=overall,
        gpu_time_by_cluster=gpu_share,
        gpu_hours_by_cluster=gpu_hours,
    )


def compute(db: LakeDB, trace: str, breakdowns: bool = True) -> FailuresResult | None:
    """Failure counts, breakdowns, resources lost and time to failure of one trace; None when
    no row has a known final status and it publishes no final-state shares.

    `breakdowns=False` counts final states in one scan and leaves the breakdowns (by group,
    size and hour), time to failure and the rows over time empty: the same `failure_ratio` and
    `ratio_by_status`, which is what a comparison of traces reads."""
    unit = unit_of(db, trace)
    recorded = _recorded(db, trace, unit, breakdowns) if unit is not None else None
    pub = _published(db, trace)
    if recorded is None and pub is None:
        return None
    return FailuresResult(trace=trace, recorded=recorded, published=pub)
