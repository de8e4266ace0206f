"""Mooncake (FAST'25) request traces from Kimi: JSONL, one request per line.

`{"timestamp": ms from trace start, "input_length": tokens, "output_length": tokens,
"hash_ids": [block ids]}`. Each hash id names one 512-token prefix block; equal ids across
requests are reusable KV-cache blocks, so they are kept as a list column for prefix-reuse
analysis.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from ingest.errors import CorruptFile, EmptyFile
from ingest.problems import Rejected
from ingest.records import JSON_LINES
from ingest.sources.base import ReadContext, Source, TableQuery, head_lines, is_gzip, slug, stem

BLOCK_TOKENS = 512
BATCH_ROWS = 50_000
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


def _count(value: Any) -> int | None:
    """A non-negative integer token count or millisecond time, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


def _problem(record: Any) -> tuple[str, str] | None:
    if not isinstance(record, dict):
        return "malformed-line", "expected a JSON object"
    for f in FIELDS:
        if f not in record or record[f] is None:
            return "missing-field", f"field '{f}' is missing"
        if _count(record[f]) is None:
            v = record[f]
            if isinstance(v, int | float) and not isinstance(v, bool) and v < 0:
                return "negative-count", f"'{f}' is {v}; it must be >= 0"
            return "unparsable-value", f"'{f}' is {v!r}; expected a whole number"
    ids = record.get("hash_ids")
    if ids is not None and not (
        isinstance(ids, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    ):
        return "unparsable-value", "'hash_ids' must be a list of integers"
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
                text = raw.decode("utf-8", errors="replace").strip()
                if not text:
                    continue
                seen += 1
                try:
                    record = json.loads(text)
                except ValueError as e:
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
