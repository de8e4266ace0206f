"""Huawei serverless traces from sir-lab/data-release: 2023 time series and 2025 cold starts.

**2023** (Joosen et al., SoCC'23; README_data_release_2023.md). One folder per metric and
granularity (`requests_minute`, `function_delay_second`, `cpu_usage_minute`, ...), one CSV per
day (`day_000.csv` in the private release, `day_00.csv` in the public one). Each CSV is wide:
`day,time,<function id>,<function id>,...`, `time` in seconds from the start of the release
(minute files: the start of the minute), an empty cell where a function has no value. The
metric comes from the folder name, so files must keep the release's folder layout. -> `series`,
one row per function and interval with a value; empty cells are skipped and zeros kept (the
release tells "no data" from zero). Units: requests and instances are counts; function and
platform delay are read as milliseconds (the README gives no unit; the paper and the invitro
tooling read them as ms) and stored in seconds; CPU and memory usage are percentages of the
allocation; the CPU limit is normalized (unitless); the memory limit is MB, stored in GB.

**2025** (Joosen et al., EuroSys'25; README_data_release_2025.md). Cold-start CSVs, one
folder per region (`R1`..`R5`, the region comes from the folder name), with columns
`day,time,clusterName,funcName,userID,requestID,totalCost_cold_start,podAllocationCost,
deployCodeCost,deployDependencyCost,schedulingCost,podID`, times in seconds. -> `cold_starts`.
A function is `funcName---userID---poolName` (pool = podID without its trailing number), as in
the release's other tables. When `df_funcID_runtime_triggerType.csv` (Region 2 only) is ingested
with the cold starts, Region 2 rows get its runtime and trigger type.

Values are kept or rejected, never changed: a 2023 line needs its time and a 2025 line its
time and podID; `day` must be a whole number, every value a finite number (a literal nan or
inf is rejected with its line, an empty cell is not a value), and every time must land within
the years 1..9999.

No real rows are available here: both sources are tested on fixtures written to the published
schemas (tests/fixtures/huawei_2023, tests/fixtures/huawei_2025).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import DataError
from ingest.records import CSV_WITH_HEADER
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    csv_header,
    head_lines,
    header_has,
    read_head,
    require_columns,
    reshaping,
    sql_str,
)
from ingest.sources.checks import (
    PROBLEM,
    WHOLE,
    checked_scan,
    seconds_in_range,
    ts_from_seconds,
    unpivot,
)

# ---------------------------------------------------------------- 2023: per-function series

NAME_2023 = "huawei_2023"
SERIES_ID_COLUMNS = ("day", "time")
EXPECTS_2023 = (
    "a Huawei 2023 per-day CSV (day_000.csv) with header day,time,<function ids...>, inside a "
    "folder named after its metric (requests_minute, function_delay_second, ...)"
)
_DAY_FILE = re.compile(r"day_(\d{2,3})\.csv(\.gz)?", re.IGNORECASE)
_FOLDER = re.compile(r"([a-z_]+)_(minute|second)")
_INTERVAL_S = {"minute": 60.0, "second": 1.0}


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    divide_by: float = 1.0


METRICS = {
    "requests": Metric("invocations", "count"),
    "function_delay": Metric("function_delay_s", "s", 1000.0),
    "platform_delay": Metric("platform_delay_s", "s", 1000.0),
    "cpu_usage": Metric("cpu_util", "percent"),
    "memory_usage": Metric("mem_util", "percent"),
    "cpu_limit": Metric("cpu_limit", "normalized"),
    "memory_limit": Metric("mem_limit_gb", "GB", 1024.0),
    "instances": Metric("instances", "pods"),
}


def _functions(header: Sequence[str]) -> list[str]:
    return list(header[len(SERIES_ID_COLUMNS) :])


def sniff_2023(head: bytes, name: str) -> bool:
    if not _DAY_FILE.fullmatch(name):
        return False
    header = csv_header(head)
    functions = _functions(header)
    if tuple(header[:2]) != SERIES_ID_COLUMNS or not functions:
        return False
    lines = head_lines(head, 2)
    first = lines[1].split(",")[:2] if len(lines) > 1 else []
    numeric = all(f.strip().replace(".", "", 1).isdigit() for f in first)
    return all(f.isdigit() for f in functions) and len(first) == 2 and numeric


def _metric(path: Path) -> tuple[Metric, float]:
    m = _FOLDER.fullmatch(path.parent.name)
    if not m or m.group(1) not in METRICS:
        folders = ", ".join(f"{k}_minute" for k in METRICS)
        raise DataError(
            f"{path}: the metric of a Huawei 2023 file comes from its folder, but "
            f"'{path.parent.name}' is not one of the release's folders ({folders}, and "
            "requests/function_delay/platform_delay _second). Keep the release's folder layout."
        )
    return METRICS[m.group(1)], _INTERVAL_S[m.group(2)]


def read_2023(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        metric, interval = _metric(path)
        header = require_columns(path, EXPECTS_2023, SERIES_ID_COLUMNS, NAME_2023)
        bad = [c for c in _functions(header) if not c.isdigit()]
        if bad:
            raise DataError(
                f"{path}, line 1: after day,time every column must be a function id (a whole "
                f"number); found {', '.join(repr(b) for b in bad[:5])}."
            )
        rejects = ctx.rejects_table()
        types = {c: "DOUBLE" for c in header} | {"day": WHOLE}
        scan, checks = checked_scan(
            path,
            header,
            types,
            rejects,
            required=["time"],
            checks=[seconds_in_range("time", "time")],
        )
        # Empty cells are skipped, zeros kept; a rejected line stays one row for the lake.
        long = unpivot(
            f"(SELECT * FROM {scan})",
            f"COLUMNS(* EXCLUDE (day, time, {PROBLEM}))",
            "function",
            "v",
            _functions(header)[0],
        )
        yield TableQuery(
            table="series",
            sql=f"""
            SELECT {ts_from_seconds("time")} AS ts,
                   {interval} AS interval_s, function AS entity, function AS service,
                   v / {metric.divide_by} AS value, {PROBLEM}
            FROM {long}""",
            files=(path,),
            constants={"metric": metric.name, "unit": metric.unit},
            rejects=rejects,
            checks=checks,
            **reshaping(path, header, rejects),
        )


def trace_name_2023(path: Path) -> str:
    parts = [p.lower() for p in path.parts[:-1]]
    if any("public" in p for p in parts):
        return "huawei_2023_public"
    if any("private" in p for p in parts):
        return "huawei_2023_private"
    # The public release numbers its days with two digits, the private one with three.
    m = _DAY_FILE.fullmatch(path.name)
    return "huawei_2023_public" if m and len(m.group(1)) == 2 else "huawei_2023_private"


SOURCE_2023 = Source(
    records=CSV_WITH_HEADER,
    name=NAME_2023,
    family="serverless",
    tables=("series",),
    description="Huawei Private/Public Cloud 2023: per-function requests, delays, CPU/memory "
    "usage and limits and instances per minute (requests and delays also per second).",
    citation='Joosen et al., "How Does It Function? Characterizing Long-term Trends in '
    'Production Serverless Workloads", SoCC 2023.',
    expects=EXPECTS_2023,
    time_resolution_s=1.0,
    time_origin="relative",
    sniff=sniff_2023,
    read=read_2023,
    trace_name=trace_name_2023,
    columns=SERIES_ID_COLUMNS,
    fixture_only=True,
)

# ---------------------------------------------------------------- 2025: cold starts

NAME_2025 = "huawei_2025"
COLD_START_COLUMNS = (
    "day",
    "time",
    "clusterName",
    "funcName",
    "userID",
    "requestID",
    "totalCost_cold_start",
    "podAllocationCost",
    "deployCodeCost",
    "deployDependencyCost",
    "schedulingCost",
    "podID",
)
COLD_START_TYPES = {
    "day": WHOLE,
    "time": "DOUBLE",
    "totalCost_cold_start": "DOUBLE",
    "podAllocationCost": "DOUBLE",
    "deployCodeCost": "DOUBLE",
    "deployDependencyCost": "DOUBLE",
    "schedulingCost": "DOUBLE",
}
RUNTIME_COLUMNS = ("funcID", "cpu_request", "runtime", "triggerType-invocationType")
RUNTIME_REGION = "R2"  # the runtime/trigger file describes Region 2's functions only
EXPECTS_2025 = (
    "a Huawei 2025 cold-start CSV with header day,time,clusterName,funcName,userID,requestID,"
    "totalCost_cold_start,podAllocationCost,deployCodeCost,deployDependencyCost,schedulingCost,"
    "podID (in a folder R1..R5), or df_funcID_runtime_triggerType.csv"
)
_REGION = re.compile(r"R\d+")


def _is_runtime_table(head: bytes) -> bool:
    return header_has(head, RUNTIME_COLUMNS)


def sniff_2025(head: bytes, name: str) -> bool:
    return header_has(head, COLD_START_COLUMNS) or _is_runtime_table(head)


def _region(path: Path) -> str | None:
    return path.parent.name if _REGION.fullmatch(path.parent.name) else None


def _runtime_join(runtime_files: list[Path], region: str | None) -> tuple[str, str, str, str]:
    """(JOIN clause, runtime, trigger, cpu_request expressions); NULLs when nothing to join."""
    if not runtime_files or region != RUNTIME_REGION:
        return "", "NULL", "NULL", "NULL"
    files = "[" + ", ".join(sql_str(f) for f in runtime_files) + "]"
    # A small lookup table read as text: nothing in it can fail a cast.
    table = f"read_csv({files}, header=true, all_varchar=true, auto_detect=true)"
    join = (
        f"LEFT JOIN (SELECT DISTINCT ON (funcID) * FROM {table}) rt "
        "ON rt.funcID = cs.funcName || '---' || cs.userID || '---' || cs.pool"
    )
    return join, "rt.runtime", 'rt."triggerType-invocationType"', "rt.cpu_request"


def _cold_starts(path: Path, runtime_files: list[Path], rejects: str) -> TableQuery:
    header = require_columns(path, EXPECTS_2025, COLD_START_COLUMNS, NAME_2025)
    region = _region(path)
    join, runtime, trigger, cpu_request = _runtime_join(runtime_files, region)
    scan, checks = checked_scan(
        path,
        header,
        COLD_START_TYPES,
        rejects,
        required=["time", "podID"],
        checks=[seconds_in_range("time", "time")],
    )
    region_sql = sql_str(region) if region else "NULL"
    sql = f"""
        SELECT {ts_from_seconds("cs.time")} AS ts,
               concat_ws('---', cs.funcName, cs.userID, cs.pool) AS service,
               cs.userID AS tenant, {region_sql} AS region,
               {runtime} AS runtime, {trigger} AS trigger, cs.podID AS pod_id,
               cs.totalCost_cold_start AS total_s, cs.podAllocationCost AS pod_alloc_s,
               cs.deployCodeCost AS code_deploy_s, cs.deployDependencyCost AS deps_deploy_s,
               cs.schedulingCost AS scheduling_s,
               json_object('request_id', cs.requestID, 'cluster', cs.clusterName,
                           'day', cs.day, 'func_name', cs.funcName, 'pool', cs.pool,
                           'cpu_request_millicores', TRY_CAST({cpu_request} AS DOUBLE))::VARCHAR
                   AS extra,
               cs.{PROBLEM}
        FROM (SELECT *, nullif(regexp_extract(podID, '^(.*)-[0-9]+$', 1), '') AS pool
              FROM {scan}) cs
        {join}"""
    return TableQuery(table="cold_starts", sql=sql, files=(path,), rejects=rejects, checks=checks)


def read_2025(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    runtime_files = [p for p in paths if _is_runtime_table(read_head(p))]
    events = [p for p in paths if p not in runtime_files]
    if not events:
        names = ", ".join(str(p) for p in runtime_files)
        raise DataError(
            f"{names}: a runtime/trigger table only adds runtime and trigger type to cold starts. "
            "Ingest it together with the cold-start files (the R1..R5 folders)."
        )
    for path in events:
        yield _cold_starts(path, runtime_files, ctx.rejects_table())


def trace_name_2025(path: Path) -> str:
    return "huawei_2025_cold_starts"


SOURCE_2025 = Source(
    records=CSV_WITH_HEADER,
    name=NAME_2025,
    family="serverless",
    tables=("cold_starts",),
    description="Huawei Public Cloud 2025: every cold start over 31 days in five regions, with "
    "pod allocation, code and dependency deployment and scheduling times.",
    citation='Joosen et al., "Serverless Cold Starts and Where to Find Them", EuroSys 2025.',
    expects=EXPECTS_2025,
    time_resolution_s=1e-3,
    time_origin="relative",
    sniff=sniff_2025,
    read=read_2025,
    trace_name=trace_name_2025,
    columns=COLD_START_COLUMNS,
    fixture_only=True,
)
