"""Azure VM Noise Dataset 2024 (TUNA, EuroSys'25): benchmarks repeated on Azure VMs for 483 days.

One CSV `value,runtime,starttime,VM_id` per benchmark metric, Hive-partitioned as
`test_suite=<suite>/test_name=<test>/vm_lifespan=<short|long>/vm_region=<region>/vm_sku=<sku>/
unit=<unit>.csv` (an earlier revision of the release used `vm_duration=`, `vm_type=` and
`<unit>.csv`; both are read). The benchmark, the VM dimensions and the unit exist only in the
path, so they are parsed here, as text; DuckDB's Hive partitioning (which guesses types, so a
value like `50` would become a number) is switched off. The release writes spaces as `_` and
a unit's `/s` as `_s` (a file name cannot hold `/`); both are turned back for display.

VM ids are "unique within dimension" (README), so `subject` is `<lifespan>/<region>/<sku>/<VM_id>`.
Long-lived VMs (three per dimension, twelve in all) ran every benchmark for the whole study: their
subject is one VM in every benchmark and joins benchmarks per VM. Short-lived VMs ran each
benchmark once and the release numbers them per file: the same id in two benchmarks is not the
same VM (short/eastus/B8ms VM 300 ran Redis on 2023-07-02 and Stress-NG on 2024-03-15), so a
per-VM join across benchmarks is only meaningful for `lifespan = 'long'`.

`run` numbers a VM's runs of one benchmark metric by start time, from 1. `starttime` carries no
zone and is read as UTC (a value that does carry one is converted to UTC exactly); its
resolution is 10 ms. Values are kept or rejected, never changed: a row without starttime or
VM_id, a nan/inf value or runtime, or a time outside the years 1..9999 is rejected with its
line. `runtime` (test duration, s) and the raw VM id
go to `extra`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from ingest.errors import MissingColumns
from ingest.records import CSV_WITH_HEADER
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    csv_header,
    head_lines,
    require_columns,
    slug,
    sql_str,
    stem,
)
from ingest.sources.checks import PROBLEM, RowChecks, checked_scan

NAME = "azure_vm_noise_2024"
COLUMNS = ("value", "runtime", "starttime", "VM_id")
# TIMESTAMPTZ: a zone-less starttime is UTC, a zoned one is converted (TIMESTAMP drops it).
TYPES = {"value": "DOUBLE", "runtime": "DOUBLE", "starttime": "TIMESTAMPTZ", "VM_id": "VARCHAR"}
LAYOUT = (
    "test_suite=<suite>/test_name=<test>/vm_lifespan=<short|long>/vm_region=<region>/"
    "vm_sku=<sku>/unit=<unit>.csv"
)
EXPECTS = f"a CSV with header value,runtime,starttime,VM_id in folders {LAYOUT}"

# Folder keys of both revisions of the release -> the field they fill.
_KEYS = {
    "test_suite": "suite",
    "test_name": "test",
    "vm_lifespan": "lifespan",
    "vm_duration": "lifespan",
    "vm_region": "region",
    "vm_sku": "sku",
    "vm_type": "sku",
}
# Field -> its folder key in the current layout, for messages.
_FOLDERS = {
    "suite": "test_suite",
    "test": "test_name",
    "lifespan": "vm_lifespan",
    "region": "vm_region",
    "sku": "vm_sku",
}

# Input bytes per query; see _chunks.
CHUNK_BYTES = 32 << 20
_ROW = re.compile(r"[^,]*,[^,]*,\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?,[^,]*")


@dataclass(frozen=True)
class Partition:
    """What one file's path says about its rows."""

    suite: str
    test: str
    lifespan: str
    region: str
    sku: str
    unit: str

    @property
    def benchmark(self) -> str:
        return f"{_readable(self.suite)}/{_readable(self.test)}"

    @property
    def unit_text(self) -> str:
        return _readable(re.sub(r"_s$", "/s", self.unit))

    @property
    def metric(self) -> str:
        return slug(self.unit_text)

    @property
    def vm_prefix(self) -> str:
        return f"{self.lifespan}/{self.region}/{self.sku}/"


def _readable(value: str) -> str:
    return value.replace("_", " ").strip()


def partition(path: Path) -> Partition:
    """The partition values in `path`, or MissingColumns naming the folders it lacks."""
    found: dict[str, str] = {}
    for part in path.parts[:-1]:
        key, sep, value = part.partition("=")
        if sep and key in _KEYS:
            found[_KEYS[key]] = unquote(value)
    name = stem(path)
    unit = unquote(name.removeprefix("unit=")) if name else ""
    missing = [folder for field, folder in _FOLDERS.items() if not found.get(field)]
    if missing or not unit:
        absent = ", ".join(f"{k}=" for k in missing) or "unit=<unit>.csv"
        raise MissingColumns(
            f"{path}: the path lacks {absent}. The benchmark, VM dimensions and unit of "
            f"{NAME} rows exist only in the folder names ({LAYOUT}); ingest the files inside "
            "the release's vm-noise-data folder, keeping its folders."
        )
    return Partition(unit=unit, **{k: found[k] for k in _FOLDERS})


def sniff(head: bytes, name: str) -> bool:
    lower = name.lower()
    if not lower.endswith((".csv", ".csv.gz")) or csv_header(head) != list(COLUMNS):
        return False
    lines = head_lines(head, 2)
    return len(lines) < 2 or _ROW.fullmatch(lines[1].strip()) is not None


def _partitions_sql(parts: dict[Path, Partition]) -> str:
    rows = ", ".join(
        "(" + ", ".join(sql_str(v) for v in values) + ")"
        for values in (
            (
                str(path),
                p.benchmark,
                p.metric,
                p.unit_text,
                p.sku,
                p.region,
                p.lifespan,
                p.vm_prefix,
            )
            for path, p in parts.items()
        )
    )
    return (
        f"(VALUES {rows}) AS p(filename, benchmark, metric, unit, sku, region, lifespan, vm_prefix)"
    )


def _query(parts: dict[Path, Partition], header: list[str], rejects: str) -> tuple[str, RowChecks]:
    scan, checks = checked_scan(
        list(parts),
        header,
        TYPES,
        rejects,
        required=["starttime", "VM_id"],
        filename=True,
        hive_partitioning="false",
    )
    # LEFT JOIN: a row whose file name did not match keeps NULL metric and is then rejected
    # by the missing-metric rule, never dropped. Rejected lines are numbered apart, so they
    # never shift the run numbers of the others.
    return (
        f"""
    SELECT r.starttime AS ts,
           p.vm_prefix || r."VM_id" AS subject,
           p.benchmark, p.metric, r."value" AS value, p.unit,
           row_number() OVER (PARTITION BY r.filename, r."VM_id", r.{PROBLEM}
                              ORDER BY r.starttime, r."value", r.runtime) AS run,
           p.sku, p.region, p.lifespan,
           json_object('vm_id', r."VM_id", 'runtime_s', r.runtime)::VARCHAR AS extra,
           r.{PROBLEM}
    FROM {scan} AS r LEFT JOIN {_partitions_sql(parts)} USING (filename)""",
        checks,
    )


def _chunks(parts: dict[Path, Partition]) -> Iterator[dict[Path, Partition]]:
    """Files in groups of about CHUNK_BYTES: `run` is numbered with a window over all rows of a
    query, which DuckDB holds in memory, so bounded groups keep memory flat for the full
    release while each query still scans many files in parallel."""
    chunk: dict[Path, Partition] = {}
    size = 0
    for path, p in parts.items():
        chunk[path] = p
        size += path.stat().st_size
        if size >= CHUNK_BYTES:
            yield chunk
            chunk, size = {}, 0
    if chunk:
        yield chunk


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    groups: dict[tuple[str, ...], dict[Path, Partition]] = {}
    for path in paths:
        layout = tuple(require_columns(path, EXPECTS, COLUMNS, NAME))
        groups.setdefault(layout, {})[path] = partition(path)
    for layout, parts in groups.items():
        for chunk in _chunks(parts):
            rejects = ctx.rejects_table()
            sql, checks = _query(chunk, list(layout), rejects)
            yield TableQuery(
                table="measurements",
                sql=sql,
                files=tuple(chunk),
                rejects=rejects,
                checks=checks,
            )


def trace_name(path: Path) -> str:
    # Every file of the release is one trace: benchmarks are compared across partitions.
    return NAME


SOURCE = Source(
    records=CSV_WITH_HEADER,
    name=NAME,
    family="vm_interference",
    tables=("measurements",),
    description="Azure VM Noise 2024 (TUNA): 40 benchmarks repeated on B8ms/D8s_v5 VMs in "
    "eastus/westus2, long-lived and short-lived, 2023-05 to 2024-09.",
    citation='Freischuetz, Kanellis, Kroth and Venkataraman, "TUNA: Tuning Unstable and '
    'Noisy Cloud Applications", EuroSys 2025.',
    expects=EXPECTS,
    time_resolution_s=0.01,
    time_origin="absolute",
    sniff=sniff,
    read=read,
    trace_name=trace_name,
    columns=COLUMNS,
)
