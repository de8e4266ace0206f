"""Azure Functions invocation trace 2021 (Zhang et al., SOSP'21): one row per invocation.

`AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt` (often renamed .csv) is a CSV with header
`app,func,end_timestamp,duration`: hashed application and function ids (a function id is unique
only within its app), the end of the invocation in seconds from the start of the trace
(relative, shifted from production time) and its duration in seconds (ms precision). The start,
stored as `ts`, is end_timestamp - duration. The trace records completed invocations only, with
no outcome field, so `status` is `unknown`.

Values are kept or rejected, never changed: every field is required (a line missing one is
rejected as missing-field), times must be finite and put the start inside the years 1..9999.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from ingest.records import CSV_WITH_HEADER
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    csv_queries,
    header_has,
)
from ingest.sources.checks import PROBLEM, seconds_in_range, ts_from_seconds

NAME = "azure_functions_2021"
COLUMNS = ("app", "func", "end_timestamp", "duration")
TYPES = {"app": "VARCHAR", "func": "VARCHAR", "end_timestamp": "DOUBLE", "duration": "DOUBLE"}
EXPECTS = "a CSV with header app,func,end_timestamp,duration (seconds from the trace start)"


def sniff(head: bytes, name: str) -> bool:
    return header_has(head, COLUMNS)


def _select(header: list[str], scan: str) -> str:
    # Rounded to whole µs so that float noise in end - duration cannot shift ts by 1 µs.
    return f"""
        SELECT {ts_from_seconds("end_timestamp - duration")} AS ts,
               func AS service, app AS tenant, duration AS duration_s, {PROBLEM}
        FROM {scan}"""


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    return csv_queries(
        paths,
        ctx,
        source=NAME,
        expects=EXPECTS,
        required=COLUMNS,
        types=TYPES,
        table="requests",
        select=_select,
        constants={"status": "unknown"},
        in_file_order=True,
        keys=COLUMNS,
        checks=[seconds_in_range("end_timestamp - duration", "end_timestamp")],
    )


def trace_name(path: Path) -> str:
    return NAME


SOURCE = Source(
    records=CSV_WITH_HEADER,
    name=NAME,
    family="serverless",
    tables=("requests",),
    description="Azure Functions 2021: two weeks of invocations (start, duration) per app and "
    "function.",
    citation='Zhang et al., "Faster and Cheaper Serverless Computing on Harvested Resources", '
    "SOSP 2021.",
    expects=EXPECTS,
    time_resolution_s=1e-6,  # end_timestamp is float seconds well below 1 ms
    time_origin="relative",
    sniff=sniff,
    read=read,
    trace_name=trace_name,
    columns=COLUMNS,
)
