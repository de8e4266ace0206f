"""Philly (Microsoft, ATC'19): DNN training jobs on a multi-tenant GPU cluster.

The job log (`trace-data/cluster_job_log` in msr-fiddle/philly-traces, no extension) is ONE
JSON array of 117,325 jobs, each `{"status": "Pass"|"Killed"|"Failed", "vc": hash, "jobid":
"application_...", "attempts": [{"start_time", "end_time", "detail": [{"ip": server, "gpus":
["gpu0", ...]}]}], "submitted_time": "2017-10-07 01:11:39", "user": hash}`.

It is read as a stream: a small buffer is decoded one array element at a time (the same loop
also accepts JSON lines), so memory is bounded by the largest single job record, not the file
(measured: peak RSS 0.21 GB for a 24 MB log, 0.38 GB for a 730 MB one of 900,000 jobs).

Mapping: `submit_ts` = submitted_time, `start_ts` = the first attempt's start, `end_ts` = the
last attempt's end, so `run_s` spans all retries (as the paper and the release's notebook count
it); `num_gpus` is the number of GPUs of the FIRST attempt, summed over its servers (the
notebook's choice); the last attempt's count, the number of attempts and the first attempt's
servers go to `extra` with `vc`. A job without attempts has no start, end or GPUs; a last attempt
without `end_time` was still running at the snapshot. Times are zone-less; the release's
utilization files are in US Pacific time, so these probably are too, but it is not stated: they
are stored as written, as if UTC; a time that carries a zone is converted to UTC exactly.
Times are parsed by Python's datetime, so one outside the years 1..9999 is a rejected record.

No real rows are available in this repository's sample set: the adapter is tested on a fixture
written to the published schema (tests/fixtures/philly/).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from ingest.errors import CorruptFile, EmptyFile
from ingest.problems import Rejected
from ingest.sources.base import ReadContext, Source, TableQuery, is_gzip, slug, stem

BATCH_ROWS = 50_000
CHUNK_CHARS = 1 << 20
# One job record is a few KiB even with many retries; a larger one means the JSON is broken.
MAX_RECORD_CHARS = 16 << 20
EXPECTS = (
    'a Philly cluster_job_log: a JSON array of {"status", "vc", "jobid", "attempts": '
    '[{"start_time", "end_time", "detail": [{"ip", "gpus"}]}], "submitted_time", "user"}'
)
STATUS = {"Pass": "ok", "Failed": "failed", "Killed": "killed"}

ARROW_SCHEMA = pa.schema(
    [
        ("job_id", pa.string()),
        ("tenant", pa.string()),
        ("submit_ts", pa.timestamp("us", tz="UTC")),
        ("start_ts", pa.timestamp("us", tz="UTC")),
        ("end_ts", pa.timestamp("us", tz="UTC")),
        ("queue_s", pa.float64()),
        ("run_s", pa.float64()),
        ("num_gpus", pa.float64()),
        ("status_raw", pa.string()),
        ("extra", pa.string()),
    ]
)

_KEY = re.compile(rb'"(jobid|attempts|submitted_time)"\s*:')
_SEPARATORS = re.compile(r"[\s,]*")
_DECODER = json.JSONDecoder()
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BadRecord(ValueError):
    """A job record that is valid JSON but not a valid job: (problem slug, message)."""

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def sniff(head: bytes, name: str) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return start in (b"[", b"{") and {m.group(1) for m in _KEY.finditer(head)} >= {
        b"jobid",
        b"attempts",
    }


# ---------------------------------------------------------------- streaming JSON


def _open(path: Path) -> IO[str]:
    # utf-8-sig: a byte-order mark before the array is not part of the JSON.
    if is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace")
    return path.open(encoding="utf-8-sig", errors="replace")


def _elements(path: Path, f: IO[str]) -> Iterator[tuple[int, Any]]:
    """(line, value) for each element of a top-level JSON array, or each of concatenated
    JSON values (JSON lines); `line` is where the element starts."""
    buf, pos, line, eof, opened = "", 0, 1, False, False
    while True:
        end = _SEPARATORS.match(buf, pos).end()  # type: ignore[union-attr]
        line += buf.count("\n", pos, end)
        pos = end
        if pos == len(buf):
            if eof:
                return
            chunk = f.read(CHUNK_CHARS)
            buf, pos, eof = buf[pos:] + chunk, 0, not chunk
            continue
        if buf[pos] == "[" and not opened:
            opened, pos = True, pos + 1
            continue
        if buf[pos] == "]":
            return
        opened = True
        try:
            value, end = _DECODER.raw_decode(buf, pos)
        except json.JSONDecodeError as e:
            if not eof and len(buf) - pos < MAX_RECORD_CHARS:
                # Probably an element cut by the chunk boundary: read on and decode again.
                chunk = f.read(CHUNK_CHARS)
                buf, pos, eof = buf[pos:] + chunk, 0, not chunk
                continue
            where = line + buf.count("\n", pos, e.pos)
            raise CorruptFile(
                f"{path}, line {where}: not valid JSON ({e.msg}) in the job record that starts "
                f"on line {line}; expected {EXPECTS}. The file is probably truncated or "
                "damaged: download it again and check its sha256."
            ) from e
        yield line, value
        line += buf.count("\n", pos, end)
        pos = end


# ---------------------------------------------------------------- one job -> one row


def _time_us(value: Any, field: str) -> int | None:
    if value is None or value in ("", "None"):
        return None
    if not isinstance(value, str):
        raise BadRecord("unparsable-value", f"'{field}' is {value!r}; expected a date string")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise BadRecord(
            "unparsable-value", f"'{field}' is {value!r}; expected YYYY-MM-DD HH:MM:SS"
        ) from None
    try:
        t = t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
    except OverflowError:  # 0001-01-01 00:00+05:00 is in year 0 once in UTC
        raise BadRecord(
            "out-of-range-timestamp", f"'{field}' is {value!r}; outside the years 1 to 9999"
        ) from None
    return (t - EPOCH) // timedelta(microseconds=1)


def _gpus(attempt: dict[str, Any]) -> tuple[int | None, int]:
    """(GPUs, servers) of one attempt; GPUs is None when no placement was recorded."""
    detail = attempt.get("detail") or []
    if not isinstance(detail, list) or not all(
        isinstance(d, dict) and isinstance(d.get("gpus") or [], list) for d in detail
    ):
        raise BadRecord("unparsable-value", "'detail' must be a list of {ip, gpus: [...]}")
    if not detail:
        return None, 0
    return sum(len(d.get("gpus") or []) for d in detail), len(detail)


def _attempts(record: dict[str, Any]) -> list[dict[str, Any]]:
    attempts = record.get("attempts") or []
    if not isinstance(attempts, list) or not all(isinstance(a, dict) for a in attempts):
        raise BadRecord("unparsable-value", "'attempts' must be a list of objects")
    return attempts


def _seconds(start: int | None, end: int | None) -> float | None:
    return None if start is None or end is None else (end - start) / 1e6


def _row(record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise BadRecord("malformed-line", "expected a JSON object for one job")
    job_id = record.get("jobid")
    if not isinstance(job_id, str) or not job_id:
        raise BadRecord("missing-field", "field 'jobid' is missing or empty")
    attempts = _attempts(record)
    submit = _time_us(record.get("submitted_time"), "submitted_time")
    start = end = gpus = None
    extra: dict[str, Any] = {"vc": record.get("vc"), "attempts": len(attempts)}
    if attempts:
        start = _time_us(attempts[0].get("start_time"), "start_time")
        end = _time_us(attempts[-1].get("end_time"), "end_time")
        gpus, servers = _gpus(attempts[0])
        extra["gpus_last_attempt"] = _gpus(attempts[-1])[0]
        extra["servers_first_attempt"] = servers
    status = record.get("status")
    return {
        "job_id": job_id,
        "tenant": record.get("user"),
        "submit_ts": submit,
        "start_ts": start,
        "end_ts": end,
        "queue_s": _seconds(submit, start),
        "run_s": _seconds(start, end),
        "num_gpus": gpus,
        "status_raw": status if isinstance(status, str) else None,
        "extra": json.dumps(extra, separators=(",", ":")),
    }


def _batches(path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
    rows: list[dict[str, Any]] = []
    seen = 0
    try:
        with _open(path) as f:
            for line, record in _elements(path, f):
                seen += 1
                try:
                    rows.append(_row(record))
                except BadRecord as e:
                    raw = json.dumps(record)[:500]
                    ctx.reject(Rejected(str(path), line, e.problem, str(e), raw))
                    continue
                if len(rows) >= BATCH_ROWS:
                    yield pa.RecordBatch.from_pylist(rows, schema=ARROW_SCHEMA)
                    rows.clear()
    except (EOFError, OSError, zlib.error) as e:
        raise CorruptFile(
            f"{path}: the file cannot be read to the end ({e}). It is probably truncated; "
            "download it again and check its sha256."
        ) from e
    if seen == 0:
        raise EmptyFile(f"{path}: the file holds no job records; expected {EXPECTS}.")
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=ARROW_SCHEMA)


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    status = " ".join(f"WHEN '{raw}' THEN '{ours}'" for raw, ours in STATUS.items())
    for path in paths:
        yield TableQuery(
            table="jobs",
            sql=f"SELECT *, CASE status_raw {status} ELSE 'unknown' END AS status FROM arrow_input",
            files=(path,),
            constants={"cluster": "Philly"},
            arrow=pa.RecordBatchReader.from_batches(ARROW_SCHEMA, _batches(path, ctx)),
        )


def trace_name(path: Path) -> str:
    name = slug(stem(path))
    return "philly" if name in ("cluster_job_log", "philly") else f"philly_{name}"


SOURCE = Source(
    records=None,  # one JSON document (a list of jobs), not lines: no line count applies
    name="philly",
    family="datacenter",
    tables=("jobs",),
    description="Philly (Microsoft) DNN training jobs: final status, virtual cluster, "
    "attempts with GPU placement (GPUs of the first attempt), queue and run times.",
    citation='Jeon et al., "Analysis of Large-Scale Multi-Tenant GPU Clusters for DNN '
    'Training Workloads", USENIX ATC 2019.',
    expects=EXPECTS,
    time_resolution_s=1.0,
    time_origin="absolute",
    sniff=sniff,
    read=read,
    trace_name=trace_name,
    fixture_only=True,
)
