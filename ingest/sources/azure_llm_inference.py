"""Azure LLM inference traces: 2023 (Splitwise, ISCA'24) and 2024 (DynamoLLM, HPCA'25).

Both releases are CSV with TIMESTAMP, ContextTokens, GeneratedTokens, one file per service
(`_conv` conversation, `_code` coding). They differ only in the timestamp: 2023 writes seven
fractional digits and no zone (`2023-11-16 18:15:46.6805900`, UTC); 2024 mixes
`2024-05-10 00:00:00.009930+00:00` with `2024-05-12 00:00:00+00:00`.

Values are kept or rejected, never changed:
- 2023 timestamps are read with the release's exact layout (`%Y-%m-%d %H:%M:%S` and a
  fraction): a row with a zone, or any other layout, is rejected with its line (the format
  declares no zone, so a zoned value is not what the file claims to be). Digits below the
  microsecond (the 7th, 0 throughout the release) do not fit the lake's µs resolution.
- 2024 timestamps carry zones and are converted to UTC exactly (TIMESTAMPTZ).
- Token counts are whole numbers >= 0: '10.5', 'nan' or '-5' are rejected with their line,
  never rounded ('1e3' and '12.0' are the whole numbers 1000 and 12, see sources/checks.py);
  a time outside the years 1..9999 and a row without a timestamp too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ingest.records import CSV_WITH_HEADER
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    head_lines,
    header_has,
    require_columns,
    slug,
    stem,
)
from ingest.sources.checks import PROBLEM, WHOLE, checked_scan

COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
EXPECTS = "a CSV with header TIMESTAMP,ContextTokens,GeneratedTokens"


def _service(path: Path) -> str:
    name = stem(path).lower()
    if "code" in name:
        return "code"
    if "conv" in name:
        return "conversation"
    return "unknown"


def _first_timestamp(head: bytes) -> str:
    lines = head_lines(head, 2)
    return lines[1].split(",", 1)[0].strip() if len(lines) > 1 else ""


def _has_zone(ts: str) -> bool:
    return ts.endswith("Z") or (len(ts) > 6 and ts[-6] in "+-" and ts[-3] == ":")


def sniff_2023(head: bytes, name: str) -> bool:
    return header_has(head, COLUMNS) and not _has_zone(_first_timestamp(head))


def sniff_2024(head: bytes, name: str) -> bool:
    return header_has(head, COLUMNS) and _has_zone(_first_timestamp(head))


# The 2023 release's one layout: any other (a zone, no fraction) is a rejected line.
FORMAT_2023 = "%Y-%m-%d %H:%M:%S.%n"


def _reader(
    ts_type: str, ts_expr: str, source: str, ts_format: str | None = None
) -> Callable[[Sequence[Path], ReadContext], Iterator[TableQuery]]:
    def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
        for path in paths:
            header = require_columns(path, EXPECTS, COLUMNS, source)
            rejects = ctx.rejects_table()
            scan, checks = checked_scan(
                path,
                header,
                {"TIMESTAMP": ts_type, "ContextTokens": WHOLE, "GeneratedTokens": WHOLE},
                rejects,
                required=["TIMESTAMP"],
                timestamp_format=ts_format,
            )
            service = _service(path)
            yield TableQuery(
                table="requests",
                sql=f"SELECT {ts_expr} AS ts, ContextTokens AS input_tokens, "
                f"GeneratedTokens AS output_tokens, {PROBLEM} FROM {scan}",
                files=(path,),
                # The files record no outcome: a request's status is unknown, not ok.
                constants={"service": service, "kind": service, "status": "unknown"},
                rejects=rejects,
                in_file_order=True,
                checks=checks,
            )

    return read


def _trace_name(year: str) -> Callable[[Path], str]:
    def name(path: Path) -> str:
        service = _service(path)
        suffix = {"conversation": "conv", "code": "code"}.get(service, slug(stem(path)))
        return f"azure_llm_{year}_{suffix}"

    return name


# The 2023 timestamps carry no zone; epoch arithmetic anchors them at UTC without a
# per-row time-zone conversion, which is most of the cost of a TIMESTAMPTZ cast.
SOURCE_2023 = Source(
    records=CSV_WITH_HEADER,
    name="azure_llm_2023",
    family="llm_serving",
    tables=("requests",),
    description="Azure LLM inference 2023: one hour of conversation and coding requests.",
    citation='Patel et al., "Splitwise: Efficient generative LLM inference using phase '
    'splitting", ISCA 2024.',
    expects=EXPECTS + " and zone-less timestamps like 2023-11-16 18:15:46.6805900",
    time_resolution_s=1e-6,
    time_origin="absolute",
    sniff=sniff_2023,
    columns=COLUMNS,
    read=_reader(
        "TIMESTAMP", "make_timestamptz(epoch_us(TIMESTAMP))", "azure_llm_2023", FORMAT_2023
    ),
    trace_name=_trace_name("2023"),
)

SOURCE_2024 = Source(
    records=CSV_WITH_HEADER,
    name="azure_llm_2024",
    family="llm_serving",
    tables=("requests",),
    description="Azure LLM inference 2024: one week of conversation and coding requests.",
    citation='Stojkovic et al., "DynamoLLM: Designing LLM inference clusters for performance '
    'and energy efficiency", HPCA 2025.',
    expects=EXPECTS + " and zoned timestamps like 2024-05-10 00:00:00.009930+00:00",
    time_resolution_s=1e-6,
    time_origin="absolute",
    sniff=sniff_2024,
    columns=COLUMNS,
    read=_reader("TIMESTAMPTZ", "TIMESTAMP", "azure_llm_2024"),
    trace_name=_trace_name("2024"),
)
