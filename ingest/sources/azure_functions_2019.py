"""Azure Functions 2019 (Shahrad et al., ATC'20): per-minute invocations, duration and memory
percentiles, one set of files per day.

Three CSV formats, all keyed by the hashes HashOwner, HashApp, HashFunction:

- `invocations_per_function_md.anon.dNN.csv`: `HashOwner,HashApp,HashFunction,Trigger,1,...,1440`,
  one column per minute of day NN (minute 1 starts at 00:00). -> `series`, metric `invocations`.
  Only minutes with at least one invocation become rows: a file covers every minute of its day,
  so an absent minute means zero, and the full release (14 days x ~50k functions x 1440
  minutes, about a billion cells, mostly zero) stays a few percent of that size.
- `function_durations_percentiles.anon.dNN.csv`: `Average,Count,Minimum,Maximum` and
  `percentile_Average_{0,1,25,50,75,99,100}` in ms. -> `summaries`, metric `duration_s` in s.
  The percentiles are weighted percentiles of 30-second averages, not of single executions.
- `app_memory_percentiles.anon.dNN.csv`: `HashOwner,HashApp,SampleCount,AverageAllocatedMb,
  AverageAllocatedMb_pct{1,5,25,50,75,95,99,100}` per app. -> `summaries`, metric `mem_gb`
  (1 GB = 1024 MB).

The invitro sampler's variant (`invocations.csv`, `durations.csv`, `memory.csv`) has the same
columns, but its minute columns are a window of one day (e.g. 480..959) and its memory file is
per function (HashFunction first: the sampler splits each app's memory evenly over its
functions). Minute numbers are kept as given; a file without `.dNN` is day 1. Timestamps are
relative: minute m of day d starts at 1970-01-01 + (d-1) days + (m-1) minutes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from ingest.errors import DataError
from ingest.records import CSV_WITH_HEADER
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    csv_header,
    read_head,
    require_columns,
    reshaping,
    sql_str,
)
from ingest.sources.checks import PROBLEM, WHOLE, WIDE, checked_scan, unpivot, whole_value

NAME = "azure_functions_2019"
IDS = ("HashOwner", "HashApp", "HashFunction")
INVOCATIONS = (*IDS, "Trigger")
DURATIONS = (*IDS, "Average", "Count", "Minimum", "Maximum")
MEMORY = ("HashOwner", "HashApp", "SampleCount", "AverageAllocatedMb")
REQUIRED = {"invocations": INVOCATIONS, "durations": DURATIONS, "memory": MEMORY}
EXPECTS = (
    "an Azure Functions 2019 CSV: invocations (HashOwner,HashApp,HashFunction,Trigger,1,...,1440), "
    "durations (HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,"
    "percentile_Average_0,...) or memory (HashOwner,HashApp,SampleCount,AverageAllocatedMb,"
    "AverageAllocatedMb_pct1,...)"
)

_DAY = re.compile(r"\.d(\d+)\.csv", re.IGNORECASE)
MINUTES_PER_DAY = 1440
MAX_DAY = 36500  # a hundred years of days: more is no day number of this release
_DURATION_PCT = re.compile(r"percentile_Average_(\d+)")
_MEMORY_PCT = re.compile(r"AverageAllocatedMb_pct(\d+)")


def _minutes(header: Sequence[str]) -> list[str]:
    return list(header[len(INVOCATIONS) :])


def _kind(header: Sequence[str]) -> str | None:
    cols = set(header)
    if tuple(header[: len(INVOCATIONS)]) == INVOCATIONS:
        minutes = _minutes(header)
        if minutes and all(m.isdigit() for m in minutes):
            return "invocations"
        return None
    if all(c in cols for c in DURATIONS):
        return "durations"
    if all(c in cols for c in MEMORY):
        return "memory"
    return None


def sniff(head: bytes, name: str) -> bool:
    return _kind(csv_header(head)) is not None


def _closest(header: Sequence[str]) -> str:
    """The format whose required columns the header has most of, for the error message."""
    cols = set(header)
    return max(REQUIRED, key=lambda k: sum(c in cols for c in REQUIRED[k]) / len(REQUIRED[k]))


def day_of(path: Path) -> int:
    m = _DAY.search(path.name)
    day = int(m.group(1)) if m and len(m.group(1)) <= 6 else 1 if not m else 0
    if not 1 <= day <= MAX_DAY:
        raise DataError(
            f"{path}: the day in the file name ({_short(m.group(1) if m else '')}) must be a "
            f"number from 1 to {MAX_DAY}; rename the file (invocations_per_function_md.anon"
            ".d01.csv is day 1)."
        )
    return day


def _short(text: str) -> str:
    return repr(text if len(text) <= 20 else text[:20] + "...")


def _invocations(path: Path, header: list[str], rejects: str) -> TableQuery:
    minutes = _minutes(header)
    bad = [m for m in minutes if not (m.isdigit() and 1 <= int(m) <= MINUTES_PER_DAY)]
    if bad or not minutes:
        raise DataError(
            f"{path}, line 1: after {','.join(INVOCATIONS)} every column must be a minute number "
            f"(1..1440); found {', '.join(_short(b) for b in bad[:5]) or 'no minute columns'}."
        )
    # Counts are whole numbers >= 0: '10.5' or '-1' is a rejected line, never rounded.
    scan, checks = checked_scan(
        path, header, dict.fromkeys(minutes, WHOLE), rejects, required=["HashFunction"]
    )
    offset = (day_of(path) - 1) * MINUTES_PER_DAY - 1
    ids = ", ".join(f'"{c}"' for c in INVOCATIONS)
    # 1,440 minute columns are checked as one list and stay text until unpivoted.
    text = len(minutes) > WIDE
    n = whole_value("n") if text else "n"
    long = unpivot(
        f"(SELECT * FROM {scan})",
        f"COLUMNS(* EXCLUDE ({ids}, {PROBLEM}))",
        "minute",
        "n",
        minutes[0],
        "'0'" if text else "0",
    )
    sql = f"""
        SELECT make_timestamptz((CAST(minute AS BIGINT) + {offset}) * 60000000) AS ts,
               60.0 AS interval_s, HashFunction AS entity, HashApp AS service,
               HashOwner AS tenant, Trigger AS kind, CAST({n} AS DOUBLE) AS value, {PROBLEM}
        FROM {long}
        WHERE {n} > 0 OR {PROBLEM} IS NOT NULL"""
    return TableQuery(
        table="series",
        sql=sql,
        files=(path,),
        **reshaping(path, header, rejects),
        constants={"metric": "invocations", "unit": "count"},
        rejects=rejects,
        checks=checks,
    )


def _summary_sql(
    scan: str,
    ids: dict[str, str],
    count_col: str,
    stats: dict[str, str],
    scale: float,
    unit: str,
    extra: str,
) -> str:
    """Wide statistic columns -> one row per statistic, values divided by `scale`."""
    id_cols = ", ".join(f'"{src}" AS {dst}' for dst, src in ids.items())
    stat_cols = ", ".join(f'CAST("{col}" AS DOUBLE) AS "{stat}"' for stat, col in stats.items())
    wide = (
        f'(SELECT {id_cols}, "{count_col}" AS n_samples, {stat_cols}, '
        f'CAST("{count_col}" AS DOUBLE) AS "count", {PROBLEM} FROM {scan})'
    )
    on = f"COLUMNS(* EXCLUDE (entity, service, tenant, n_samples, {PROBLEM}))"
    return f"""
        SELECT entity, service, tenant, stat,
               CASE WHEN stat = 'count' THEN v ELSE v / {scale} END AS value,
               CASE WHEN stat = 'count' THEN 'count' ELSE {sql_str(unit)} END AS unit,
               n_samples AS count, {extra} AS extra, {PROBLEM}
        FROM {unpivot(wide, on, "stat", "v", next(iter(stats)))}"""


def _durations(path: Path, header: list[str], rejects: str) -> TableQuery:
    pcts = {f"p{m.group(1)}": c for c in header if (m := _DURATION_PCT.fullmatch(c))}
    stats = {"mean": "Average", "min": "Minimum", "max": "Maximum", **pcts}
    types = {c: "DOUBLE" for c in stats.values()} | {"Count": WHOLE}
    scan, checks = checked_scan(path, header, types, rejects, required=["HashFunction"])
    ids = {"entity": "HashFunction", "service": "HashApp", "tenant": "HashOwner"}
    extra = f"json_object('day', {day_of(path)})::VARCHAR"
    return TableQuery(
        table="summaries",
        sql=_summary_sql(scan, ids, "Count", stats, 1000.0, "s", extra),
        files=(path,),
        **reshaping(path, header, rejects),
        constants={"metric": "duration_s"},
        rejects=rejects,
        checks=checks,
    )


def _memory(path: Path, header: list[str], rejects: str) -> TableQuery:
    pcts = {f"p{m.group(1)}": c for c in header if (m := _MEMORY_PCT.fullmatch(c))}
    stats = {"mean": "AverageAllocatedMb", **pcts}
    types = {c: "DOUBLE" for c in stats.values()} | {"SampleCount": WHOLE}
    # The original file is per app; the invitro sampler's is per function (an even share).
    per_function = "HashFunction" in header
    entity = "HashFunction" if per_function else "HashApp"
    scan, checks = checked_scan(path, header, types, rejects, required=[entity])
    ids = {"entity": entity, "service": "HashApp", "tenant": "HashOwner"}
    scope = "function_share_of_app" if per_function else "app"
    extra = f"json_object('day', {day_of(path)}, 'scope', {sql_str(scope)})::VARCHAR"
    return TableQuery(
        table="summaries",
        sql=_summary_sql(scan, ids, "SampleCount", stats, 1024.0, "GB", extra),
        files=(path,),
        **reshaping(path, header, rejects),
        constants={"metric": "mem_gb"},
        rejects=rejects,
        checks=checks,
    )


_READERS = {"invocations": _invocations, "durations": _durations, "memory": _memory}


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        found = csv_header(read_head(path))
        kind = _kind(found) or _closest(found)
        header = require_columns(path, EXPECTS, REQUIRED[kind], NAME)
        yield _READERS[kind](path, header, ctx.rejects_table())


def trace_name(path: Path) -> str:
    # Invocations, durations and memory of all days are one trace.
    return NAME


SOURCE = Source(
    records=CSV_WITH_HEADER,
    name=NAME,
    family="serverless",
    tables=("series", "summaries"),
    description="Azure Functions 2019: invocations per function and minute (minutes with zero "
    "invocations omitted), duration and memory percentiles per function/app and day.",
    citation='Shahrad et al., "Serverless in the Wild: Characterizing and Optimizing the '
    'Serverless Workload at a Large Cloud Provider", USENIX ATC 2020.',
    expects=EXPECTS,
    time_resolution_s=60.0,
    time_origin="relative",
    sniff=sniff,
    read=read,
    trace_name=trace_name,
    columns=INVOCATIONS,
)
