"""BurstGPT (KDD'25): ChatGPT and GPT-4 requests through Azure OpenAI at a university.

CSV `Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type` (releases 1 and 2),
with `Session ID,Elapsed time` after Timestamp in release 3. Timestamps are seconds from the start
of the trace at 1 s resolution. A response of zero tokens is a failed request.

Values are kept or rejected, never changed: token counts must be whole numbers >= 0 (10.5 is
rejected with its line, not rounded); a row without a Timestamp, a non-finite Timestamp or
Elapsed time, or a Timestamp that puts the request outside the years 1..9999 is rejected too.

No real rows are available in this repository's sample set: the adapter is tested on a fixture
written to the published schema (tests/fixtures/burstgpt_schema_fixture.csv).
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
    slug,
    stem,
)
from ingest.sources.checks import PROBLEM, WHOLE, seconds_in_range, ts_from_seconds

REQUIRED = ("Timestamp", "Model", "Request tokens", "Response tokens", "Log Type")
TYPES = {
    "Timestamp": "DOUBLE",
    "Session ID": "VARCHAR",
    "Elapsed time": "DOUBLE",
    "Model": "VARCHAR",
    "Request tokens": WHOLE,
    "Response tokens": WHOLE,
    "Total tokens": WHOLE,
    "Log Type": "VARCHAR",
}
EXPECTS = "a CSV with header Timestamp,[Session ID,Elapsed time,]Model,Request tokens,..."


def sniff(head: bytes, name: str) -> bool:
    return header_has(head, REQUIRED)


def _select(header: list[str], scan: str) -> str:
    unknown = [c for c in header if c not in TYPES]
    session = '"Session ID"' if "Session ID" in header else "NULL"
    elapsed = '"Elapsed time"' if "Elapsed time" in header else "NULL"
    extra = (
        "NULL"
        if not unknown
        else "json_object(" + ", ".join(f"'{c}', \"{c}\"" for c in unknown) + ")::VARCHAR"
    )
    return f"""
        SELECT {ts_from_seconds('"Timestamp"')} AS ts,
               "Model" AS service,
               {session} AS session,
               CASE "Log Type" WHEN 'Conversation log' THEN 'conversation'
                               WHEN 'API log' THEN 'api' ELSE "Log Type" END AS kind,
               "Request tokens" AS input_tokens,
               "Response tokens" AS output_tokens,
               {elapsed} AS duration_s,
               CASE WHEN "Response tokens" = 0 THEN 'failed' ELSE 'ok' END AS status,
               CASE WHEN "Response tokens" = 0 THEN 'Response tokens = 0' END AS status_raw,
               {extra} AS extra, {PROBLEM}
        FROM {scan}"""


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    return csv_queries(
        paths,
        ctx,
        source="burstgpt",
        expects=EXPECTS,
        required=REQUIRED,
        types=TYPES,
        table="requests",
        select=_select,
        in_file_order=True,
        keys=["Timestamp"],
        checks=[seconds_in_range('"Timestamp"', "Timestamp")],
    )


def trace_name(path: Path) -> str:
    name = slug(stem(path))
    return name if name.startswith("burstgpt") else f"burstgpt_{name}"


SOURCE = Source(
    records=CSV_WITH_HEADER,
    name="burstgpt",
    family="llm_serving",
    tables=("requests",),
    description="BurstGPT: ChatGPT/GPT-4 conversation and API requests (zero-token responses "
    "are failures).",
    citation='Wang et al., "BurstGPT: A Real-World Workload Dataset to Optimize LLM Serving '
    'Systems", KDD 2025.',
    expects=EXPECTS,
    time_resolution_s=1.0,
    time_origin="relative",
    sniff=sniff,
    columns=REQUIRED,
    read=read,
    trace_name=trace_name,
    fixture_only=True,
)
