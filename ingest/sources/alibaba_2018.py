"""Alibaba cluster-trace-v2018: machine_usage.csv -> `series`, machine_meta.csv -> `summaries`.

Both are header-less CSV (alibaba/clusterdata cluster-trace-v2018/schema.txt).

machine_usage, 9 fields: machine_id, time_stamp (s from the start of the 8-day window),
cpu_util_percent, mem_util_percent, mem_gps (normalized memory bandwidth), mkpi (cache misses per
1000 instructions), net_in, net_out (normalized), disk_io_percent. It becomes long format: one
`series` row per machine, metric (the source's column name; mkpi is written `mpki`, its usual
spelling) and timestamp. Samples are irregular on a 10 s grid, so interval_s is NULL (points, not
intervals). An EMPTY field means the metric was not recorded: no row. The documented invalid
markers -1 and 101 (101 only for the 0..100 metrics) keep their row with value NULL and the raw
marker in extra.invalid_raw, so their frequency stays visible. time_stamp 0 means "before or
after the window": ts NULL.

machine_meta, 7 fields: machine_id, time_stamp, failure_domain_1, failure_domain_2, cpu_num,
mem_size (normalized to the largest machine, 0..100), status (USING, IMPORT_INSTALLING, ...).
It goes to `summaries` as an inventory: per machine, metric cpus (cores) and mem_normalized
(unitless), stat 'capacity', from the machine's latest record, `count` = its records. Not to
`series`: capacities never change within a machine in the release (every machine has one
cpu_num/mem_size), and status is a word, not a number; the statuses a machine went through and
its failure domains are kept in extra.

Values are kept or rejected, never changed: a usage line needs its machine_id and time_stamp,
its metrics must be finite numbers (the -1/101 markers above are numbers and are kept) and its
time within the years 1..9999; a meta line needs its machine_id, and its time_stamp,
failure_domain_1 and cpu_num must be whole numbers (never rounded).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from ingest.records import CSV_WITHOUT_HEADER
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    head_lines,
    require_fields,
    reshaping,
)
from ingest.sources.checks import (
    PROBLEM,
    SIGNED,
    WHOLE,
    checked_scan,
    seconds_in_range,
    ts_from_seconds,
    unpivot,
)

CITATION = (
    'Guo et al., "Who limits the resource efficiency of my datacenter: an analysis of Alibaba '
    'datacenter traces", IWQoS 2019.'
)
USAGE_COLUMNS = (
    "machine_id",
    "time_stamp",
    "cpu_util_percent",
    "mem_util_percent",
    "mem_gps",
    "mkpi",
    "net_in",
    "net_out",
    "disk_io_percent",
)
USAGE_TYPES = {c: "DOUBLE" for c in USAGE_COLUMNS[1:]} | {"machine_id": "VARCHAR"}
# metric name in the lake -> (source column, unit)
METRICS = {
    "cpu_util_percent": ("cpu_util_percent", "percent"),
    "mem_util_percent": ("mem_util_percent", "percent"),
    "mem_gps": ("mem_gps", "normalized_0_100"),
    "mpki": ("mkpi", "misses_per_1000_instructions"),
    "net_in": ("net_in", "normalized_0_100"),
    "net_out": ("net_out", "normalized_0_100"),
    "disk_io_percent": ("disk_io_percent", "percent"),
}
META_COLUMNS = (
    "machine_id",
    "time_stamp",
    "failure_domain_1",
    "failure_domain_2",
    "cpu_num",
    "mem_size",
    "status",
)
META_TYPES = {
    "time_stamp": SIGNED,
    "failure_domain_1": SIGNED,
    "cpu_num": WHOLE,
    "mem_size": "DOUBLE",
}
USAGE_EXPECTS = (
    "Alibaba cluster-trace-v2018 machine_usage.csv: header-less CSV with 9 fields: machine_id,"
    "time_stamp,cpu_util_percent,mem_util_percent,mem_gps,mkpi,net_in,net_out,disk_io_percent "
    "(e.g. m_1932,386640,41,92,,,43.04,33.08,5)"
)
META_EXPECTS = (
    "Alibaba cluster-trace-v2018 machine_meta.csv: header-less CSV with 7 fields: machine_id,"
    "time_stamp,failure_domain_1,failure_domain_2,cpu_num,mem_size,status "
    "(e.g. m_1,0,219,17,96,100,USING)"
)

_MACHINE = re.compile(r"m_\d+$")
_NUM = re.compile(r"-?\d+(\.\d*)?$")
_WORD = re.compile(r"[A-Z_]+$")
_SNIFF_LINES = 20


def _rows(head: bytes) -> list[list[str]]:
    """The first lines split on commas; a line cut by the end of the head is dropped."""
    lines = head_lines(head, _SNIFF_LINES + 1)
    if len(lines) > _SNIFF_LINES or not head.endswith(b"\n"):
        lines = lines[:-1]
    return [line.split(",") for line in lines if line]


def _num_or_empty(text: str) -> bool:
    return text == "" or _NUM.match(text) is not None


def sniff_usage(head: bytes, name: str) -> bool:
    rows = _rows(head)
    return (
        "machine_usage" in name
        and bool(rows)
        and all(
            len(r) == len(USAGE_COLUMNS)
            and _MACHINE.match(r[0])
            and all(_num_or_empty(v) for v in r[1:])
            for r in rows
        )
    )


def sniff_meta(head: bytes, name: str) -> bool:
    rows = _rows(head)
    return (
        "machine_meta" in name
        and bool(rows)
        and all(
            len(r) == len(META_COLUMNS)
            and _MACHINE.match(r[0])
            and all(_num_or_empty(r[i]) for i in (1, 2, 4, 5))
            and _WORD.match(r[6])
            for r in rows
        )
    )


def _seconds(col: str) -> str:
    return f"CASE WHEN {col} <> 0 THEN {ts_from_seconds(col)} END"


def usage_sql(scan: str) -> str:
    renames = ", ".join(f"{src} AS {metric}" for metric, (src, _) in METRICS.items())
    units = " ".join(f"WHEN '{m}' THEN '{unit}'" for m, (_, unit) in METRICS.items())
    wide = f"(SELECT machine_id, time_stamp, {renames}, {PROBLEM} FROM {scan})"
    # UNPIVOT drops NULLs: an empty field (metric not recorded) yields no row.
    return f"""
    WITH long AS {unpivot(wide, ", ".join(METRICS), "metric", "raw", next(iter(METRICS)))},
    flagged AS (
        SELECT *, raw = -1 OR (raw = 101 AND metric <> 'mpki') AS invalid FROM long
    )
    SELECT {_seconds("time_stamp")} AS ts,
           machine_id AS entity,
           metric,
           CASE WHEN NOT invalid THEN raw END AS value,
           CASE metric {units} END AS unit,
           CASE WHEN invalid THEN json_object('invalid_raw', raw)::VARCHAR END AS extra,
           {PROBLEM}
    FROM flagged"""


def meta_sql(scan: str) -> str:
    return f"""
    WITH machines AS (
        SELECT machine_id,
               arg_max(cpu_num, time_stamp) AS cpus,
               arg_max(mem_size, time_stamp) AS mem,
               count(*) AS records,
               json_object(
                   'failure_domain_1', arg_max(failure_domain_1, time_stamp),
                   'failure_domain_2', arg_max(failure_domain_2, time_stamp),
                   'statuses', list(DISTINCT status ORDER BY status)
               )::VARCHAR AS extra,
               {PROBLEM}
        FROM {scan}
        -- Rejected lines group apart: they never reach a machine's capacity.
        GROUP BY machine_id, {PROBLEM}
    )
    SELECT machine_id AS entity, 'cpus' AS metric, cpus::DOUBLE AS value, 'cores' AS unit,
           records AS count, extra, {PROBLEM}
    FROM machines
    UNION ALL
    SELECT machine_id, 'mem_normalized', mem, 'normalized_0_100', records, extra, {PROBLEM}
    FROM machines WHERE {PROBLEM} IS NULL"""


def read_usage(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        require_fields(path, len(USAGE_COLUMNS), USAGE_EXPECTS, "alibaba_2018_machine_usage")
        rejects = ctx.rejects_table()
        scan, checks = checked_scan(
            path,
            USAGE_COLUMNS,
            USAGE_TYPES,
            rejects,
            header=False,
            quote=None,
            required=("machine_id", "time_stamp"),
            checks=[seconds_in_range("time_stamp", "time_stamp")],
        )
        yield TableQuery(
            table="series",
            sql=usage_sql(scan),
            files=(path,),
            rejects=rejects,
            checks=checks,
            **reshaping(path, USAGE_COLUMNS, rejects, header=False, quote="''"),
        )


def read_meta(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    files = sorted(paths)
    for path in files:
        require_fields(path, len(META_COLUMNS), META_EXPECTS, "alibaba_2018_machine_meta")
    rejects = ctx.rejects_table()
    # One query over every file: a machine's records may be split over several.
    scan, checks = checked_scan(
        files, META_COLUMNS, META_TYPES, rejects, header=False, quote=None, required=["machine_id"]
    )
    yield TableQuery(
        checks=checks,
        table="summaries",
        sql=meta_sql(scan),
        files=tuple(files),
        **reshaping(files, META_COLUMNS, rejects, header=False, quote="''"),
        constants={"stat": "capacity"},
        rejects=rejects,
    )


SOURCE_USAGE = Source(
    records=CSV_WITHOUT_HEADER,
    name="alibaba_2018_machine_usage",
    family="datacenter",
    tables=("series",),
    description="Alibaba cluster trace 2018 machine_usage: per-machine CPU, memory, memory "
    "bandwidth, MPKI, network and disk I/O samples (10 s grid), long format.",
    citation=CITATION,
    expects=USAGE_EXPECTS,
    time_resolution_s=10.0,
    time_origin="relative",
    sniff=sniff_usage,
    read=read_usage,
    trace_name=lambda path: "alibaba_2018_machine_usage",
)

SOURCE_META = Source(
    records=CSV_WITHOUT_HEADER,
    name="alibaba_2018_machine_meta",
    family="datacenter",
    tables=("summaries",),
    description="Alibaba cluster trace 2018 machine_meta: per-machine capacity (cores, "
    "normalized memory), statuses and failure domains.",
    citation=CITATION,
    expects=META_EXPECTS,
    time_resolution_s=1.0,
    time_origin="none",
    sniff=sniff_meta,
    read=read_meta,
    trace_name=lambda path: "alibaba_2018_machine_meta",
)
