"""Mooncake (FAST'25) request traces from Kimi: JSONL, one request per line.

`{"timestamp": ms from trace start, "input_length": tokens, "output_length": tokens,
"hash_ids": [block ids]}`. Each hash id names one 512-token prefix block; equal ids across
requests are reusable KV-cache blocks, so they are kept as a list column for prefix-reuse
analysis.

Values are kept or rejected, never changed: timestamps and lengths must be whole numbers >= 0
(JSON floats are read exactly, so 10.0 is 10 and 10.5 is rejected with its line, never
rounded), below 2^63, with the time inside the years 1..9999; hash ids must be 64-bit
integers. A UTF-8 byte-order mark before the first line is skipped.
"""

from __future__ import annotations

import gzip
import json
import math
import zlib
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from ingest.errors import CorruptFile, EmptyFile
from ingest.problems import Rejected
from ingest.records import JSON_LINES
from ingest.sources.base import ReadContext, Source, TableQuery, head_lines, is_gzip, slug, stem
from ingest.sources.checks import LAST_US

BLOCK_TOKENS = 512
BATCH_ROWS = 50_000
MAX_LINE_BYTES = 2_000_000
FIELDS = ("timestamp", "input_length", "output_length")
EXPECTS = 'JSON lines like {"timestamp": 0, "input_length": 6758, "output_length": 500, ...}'

ARROW_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("us", tz="UTC")),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("hash_ids", pa.list_(pa.int64())),
    ]
)


def sniff(head: bytes, name: str) -> bool:
    lines = head_lines(head, 1)
    if not lines or not lines[0].lstrip().startswith("{"):
        return False
    try:
        first = json.loads(lines[0])
    except ValueError:
        return False
    return isinstance(first, dict) and all(f in first for f in FIELDS)


def _open(path: Path) -> IO[bytes]:
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


INT64 = 2**63


def _count(value: Any) -> int | None:
    """A non-negative integer token count or millisecond time, else None.

    JSON floats arrive as Decimal (json.loads(parse_float=Decimal)), so 10.0 is 10 and
    10.0000000000000001 is not a whole number: nothing is rounded on the way."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, int):
        return value if 0 <= value < INT64 else None
    return None


def _problem(record: Any) -> tuple[str, str] | None:
    if not isinstance(record, dict):
        return "malformed-line", "expected a JSON object"
    for f in FIELDS:
        if f not in record or record[f] is None:
            return "missing-field", f"field '{f}' is missing"
        v = record[f]
        if _count(v) is None:
            if isinstance(v, float) and not math.isfinite(v):
                return "non-finite-number", f"'{f}' is {v}; expected a whole number"
            if isinstance(v, int | Decimal) and not isinstance(v, bool) and v < 0:
                return "negative-count", f"'{f}' is {v}; it must be >= 0"
            if isinstance(v, int) and not isinstance(v, bool):
                return "unparsable-value", f"'{f}' is {v}; too large for a 64-bit whole number"
            return "unparsable-value", f"'{f}' is {v!r}; expected a whole number"
    ms = _count(record["timestamp"]) or 0
    if ms * 1000 > LAST_US:
        return "out-of-range-timestamp", f"'timestamp' is {ms} ms; that is past the year 9999"
    ids = record.get("hash_ids")
    if ids is not None and not (
        isinstance(ids, list)
        and all(isinstance(i, int) and not isinstance(i, bool) and -INT64 <= i < INT64 for i in ids)
    ):
        return "unparsable-value", "'hash_ids' must be a list of 64-bit integers"
    return None


def _batches(path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
    cols: dict[str, list[Any]] = {f.name: [] for f in ARROW_SCHEMA}
    seen = 0
    line_no = 0

    def flush() -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(cols, schema=ARROW_SCHEMA)
        for v in cols.values():
            v.clear()
        return batch

    try:
        with _open(path) as f:
            for line_no, raw in enumerate(f, start=1):
                # Only the white space the record counter skips too (ingest/records.py).
                text = raw.decode("utf-8", errors="replace").strip(" \t\r\n")
                if line_no == 1:
                    text = text.removeprefix("\ufeff")  # a byte-order mark is not JSON
                if not text:
                    continue
                seen += 1
                if len(raw) > MAX_LINE_BYTES:  # the CSV reader's limit: no real request is near
                    ctx.reject(
                        Rejected(
                            str(path),
                            line_no,
                            "malformed-line",
                            f"a line of {len(raw):,} bytes, over the limit of {MAX_LINE_BYTES:,}",
                            text[:500],
                        )
                    )
                    continue
                try:
                    record = json.loads(text, parse_float=Decimal)
                except (ValueError, RecursionError) as e:  # too deeply nested: also bad
                    ctx.reject(Rejected(str(path), line_no, "malformed-line", str(e), text[:500]))
                    continue
                problem = _problem(record)
                if problem:
                    ctx.reject(Rejected(str(path), line_no, problem[0], problem[1], text[:500]))
                    continue
                cols["ts"].append(int(record["timestamp"]) * 1000)
                cols["input_tokens"].append(int(record["input_length"]))
                cols["output_tokens"].append(int(record["output_length"]))
                cols["hash_ids"].append(record.get("hash_ids"))
                if len(cols["ts"]) >= BATCH_ROWS:
                    yield flush()
    except (EOFError, OSError, zlib.error) as e:
        raise CorruptFile(
            f"{path}: the file ends or breaks after line {line_no} ({e}). It is probably "
            "truncated; download it again (`traces fetch`) and check its sha256."
        ) from e
    if seen == 0:
        raise EmptyFile(f"{path}: the file has no JSON lines; expected {EXPECTS}.")
    if cols["ts"]:
        yield flush()


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        kind = slug(stem(path).removesuffix("_trace")) or "conversation"
        reader = pa.RecordBatchReader.from_batches(ARROW_SCHEMA, _batches(path, ctx))
        yield TableQuery(
            table="requests",
            sql="SELECT ts, input_tokens, output_tokens, hash_ids, "
            f"{BLOCK_TOKENS} AS hash_block_tokens FROM arrow_input",
            files=(path,),
            # The trace records no outcome: a request's status is unknown, not ok.
            constants={"kind": kind, "status": "unknown"},
            arrow=reader,
        )


def trace_name(path: Path) -> str:
    return "mooncake_" + (slug(stem(path).removesuffix("_trace")) or "trace")


SOURCE = Source(
    records=JSON_LINES,
    name="mooncake",
    family="llm_serving",
    tables=("requests",),
    description="Mooncake/Kimi requests with prefix block hashes (512-token blocks) for "
    "KV-cache reuse analysis.",
    citation='Qin et al., "Mooncake: Trading More Storage for Less Computation - A '
    'KVCache-centric Architecture for Serving LLM Chatbot", FAST 2025.',
    expects=EXPECTS,
    time_resolution_s=1e-3,
    time_origin="relative",
    sniff=sniff,
    read=read,
    trace_name=trace_name,
)
