"""Vidur (MLSys'24) processed request-length traces, from microsoft/vidur `data/processed_traces`.

Two layouts, hence two sources:

- `splitwise_{conv,code}.csv`: `arrived_at` (seconds since the first request, 6 decimals),
  `num_prefill_tokens`, `num_decode_tokens`. Vidur's conversion of the Azure LLM 2023 trace;
  relative time, anchored at 1970-01-01 UTC like every relative trace.
- `<dataset>_stats_<tokenizer>_tokenizer*.csv` (arXiv summarization): `num_prefill_tokens`,
  `num_decode_tokens`, `num_total_tokens`, `pd_ratio`, and no arrival time at all. Its rows
  become requests with a NULL `ts`, and its source says `time_resolution_s=None`: a time
  resolution is recorded per source, so a timed and an untimed layout cannot share one.
  `num_total_tokens` and `pd_ratio` are prefill+decode and prefill/decode, so they are not kept.

Values are kept or rejected, never changed: token counts must be whole numbers >= 0 (10.5 is
rejected with its line, not rounded), `arrived_at` finite, present, and within the years
1..9999 once anchored at 1970, `pd_ratio` finite.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from ingest.records import CSV_WITH_HEADER
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    csv_header,
    header_has,
    require_columns,
    slug,
    stem,
)
from ingest.sources.checks import PROBLEM, WHOLE, checked_scan, seconds_in_range, ts_from_seconds

TIMED_COLUMNS = ("arrived_at", "num_prefill_tokens", "num_decode_tokens")
UNTIMED_COLUMNS = ("num_prefill_tokens", "num_decode_tokens", "num_total_tokens")
TYPES = {
    "arrived_at": "DOUBLE",
    "num_prefill_tokens": WHOLE,
    "num_decode_tokens": WHOLE,
    "num_total_tokens": WHOLE,
    "pd_ratio": "DOUBLE",
}
EXPECTS_TIMED = "a Vidur CSV with header arrived_at,num_prefill_tokens,num_decode_tokens"
EXPECTS_UNTIMED = (
    "a Vidur CSV with header num_prefill_tokens,num_decode_tokens,num_total_tokens[,pd_ratio]"
)
CITATION = (
    'Agrawal et al., "Vidur: A Large-Scale Simulation Framework for LLM Inference", MLSys 2024.'
)
_TOKENIZER = re.compile(r"_stats_([a-z0-9]+)_tokenizer")


def sniff_timed(head: bytes, name: str) -> bool:
    return header_has(head, TIMED_COLUMNS)


def sniff_untimed(head: bytes, name: str) -> bool:
    return header_has(head, UNTIMED_COLUMNS) and "arrived_at" not in csv_header(head)


def _dataset(path: Path) -> str:
    """`arxiv_summarization` from `arxiv_summarization_stats_llama2_tokenizer_filtered_v2`."""
    return stem(path).lower().split("_stats", 1)[0]


def _kind(path: Path) -> str:
    name = _dataset(path)
    for word, kind in (("conv", "conversation"), ("code", "code"), ("summar", "summarization")):
        if word in name:
            return kind
    return slug(name) or "unknown"


def trace_name(path: Path) -> str:
    return "vidur_" + (slug(_dataset(path)) or "trace")


def read_timed(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        header = require_columns(path, EXPECTS_TIMED, TIMED_COLUMNS, "vidur_trace")
        rejects = ctx.rejects_table()
        kind = _kind(path)
        scan, checks = checked_scan(
            path,
            header,
            TYPES,
            rejects,
            required=["arrived_at"],
            checks=[seconds_in_range("arrived_at", "arrived_at")],
        )
        yield TableQuery(
            table="requests",
            sql=f"SELECT {ts_from_seconds('arrived_at')} AS ts, "
            "num_prefill_tokens AS input_tokens, num_decode_tokens AS output_tokens, "
            f"{PROBLEM} FROM {scan}",
            files=(path,),
            # The same requests as azure_llm_2023, labelled the same way; no outcome recorded.
            constants={"service": kind, "kind": kind, "status": "unknown"},
            rejects=rejects,
            checks=checks,
        )


def read_untimed(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        header = require_columns(path, EXPECTS_UNTIMED, UNTIMED_COLUMNS, "vidur_trace_untimed")
        rejects = ctx.rejects_table()
        # No outcome: these are dataset lengths, not requests that were served.
        constants = {"kind": _kind(path), "status": "unknown"}
        # Token counts mean little without the tokenizer that produced them.
        tokenizer = _TOKENIZER.search(stem(path).lower())
        if tokenizer:
            constants["extra"] = '{"tokenizer":"' + tokenizer.group(1) + '"}'
        scan, checks = checked_scan(path, header, TYPES, rejects)
        yield TableQuery(
            table="requests",
            sql="SELECT num_prefill_tokens AS input_tokens, num_decode_tokens AS output_tokens, "
            f"{PROBLEM} FROM {scan}",
            files=(path,),
            constants=constants,
            rejects=rejects,
            checks=checks,
        )


SOURCE = Source(
    records=CSV_WITH_HEADER,
    name="vidur_trace",
    family="llm_serving",
    tables=("requests",),
    description="Vidur processed traces with arrival times (splitwise_conv/code: the Azure LLM "
    "2023 requests as prefill/decode tokens, seconds from the first request).",
    citation=CITATION,
    expects=EXPECTS_TIMED,
    time_resolution_s=1e-6,
    time_origin="relative",
    sniff=sniff_timed,
    columns=TIMED_COLUMNS,
    read=read_timed,
    trace_name=trace_name,
)

SOURCE_UNTIMED = Source(
    records=CSV_WITH_HEADER,
    name="vidur_trace_untimed",
    family="llm_serving",
    tables=("requests",),
    description="Vidur request-length traces without arrival times (arXiv summarization, "
    "Llama-2 tokenizer): requests with NULL ts, for length distributions only.",
    citation=CITATION,
    expects=EXPECTS_UNTIMED,
    time_resolution_s=None,
    time_origin="none",
    sniff=sniff_untimed,
    columns=UNTIMED_COLUMNS,
    read=read_untimed,
    trace_name=trace_name,
)
