"""Alibaba GenTD26 (cluster-trace-v2026-GenAI): Stable-Diffusion serving with LoRA adapters.

Two sources, because the release has two formats:

`alibaba_genai_2026` reads `lora_request_trace.csv`, one request per line:
`gmt_create` (datetime, shifted by the publisher), `predict_type` (TXT_2_IMG, IMG_2_IMG,
INPAINTING), `predict_status` (SUCCEED, FAILED, PENDING, PROCESSING), `exec_time_seconds`,
`groupId` (user/group), `prompt_length` and `negative_prompt_length` (characters, not tokens,
so they go to `extra`), `num_images_per_prompt`, `num_inference_steps`,
`checkpoint_model_version_id` (base model), `num_lora`. PENDING and PROCESSING requests had not
finished when the trace was cut (PENDING ones carry exec_time 0.0 and no parameters): their
status is `unknown`, their `duration_s` NULL, and their raw exec time stays in `extra`.

`alibaba_genai_2026_metrics` reads the `*_anon.tar.gz` monitoring archives, each holding one CSV
`timestamp_anon` (epoch seconds, shifted), `value`, `container_ip` (MD5; "NULL"/"None" =
missing). They are per-container samples of a monitoring metric on the publisher's sampling
grid (57 s in the published files; half-millisecond values such as 12773.5 suggest averages
within a sample), so they are a `series` (entity = container), not `measurements`: nothing is
a repeated run of a benchmark. The archives are streamed member by member and row by row in
Arrow batches. The metric timestamps are shifted differently from the request trace (2022 vs
2024 dates), so the two traces cannot be joined on time.

Values are kept or rejected, never changed: the request counts must be whole numbers >= 0
(`63.0` is 63, `63.5` is rejected with its line, never rounded), gmt_create must be present
(a zoned one is converted to UTC exactly) and exec_time_seconds finite; a metric row needs a
finite time and value, within the years 1..9999, and a copy of the header line is rejected as
repeated-header in both formats.
"""

from __future__ import annotations

import csv
import gzip
import tarfile
import zlib
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import pyarrow as pa

from ingest.errors import CorruptFile, EmptyFile, MissingColumns
from ingest.problems import Rejected
from ingest.records import CSV_WITH_HEADER, RecordRule
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    header_has,
    is_gzip,
    read_head,
    require_columns,
    slug,
)
from ingest.sources.checks import (
    PROBLEM,
    WHOLE,
    BadValue,
    check_seconds,
    checked_scan,
    parse_finite,
)

CITATION = (
    'Lin et al., "Understanding Diffusion Model Serving in Production: A Top-Down Analysis of '
    'Workload, Scheduling, and Resource Efficiency", SoCC 2025.'
)

# ---------------------------------------------------------------- requests

REQUEST_COLUMNS = (
    "gmt_create",
    "predict_type",
    "predict_status",
    "exec_time_seconds",
    "groupId",
    "checkpoint_model_version_id",
)
REQUEST_TYPES = {
    # TIMESTAMPTZ: a zone-less time is UTC, a zoned one is converted (TIMESTAMP drops it).
    "gmt_create": "TIMESTAMPTZ",
    "exec_time_seconds": "DOUBLE",
    # Published as floats (63.0): WHOLE keeps 63.0 as 63 and rejects 63.5, never rounds it.
    "prompt_length": WHOLE,
    "negative_prompt_length": WHOLE,
    "num_images_per_prompt": WHOLE,
    "num_inference_steps": WHOLE,
    "num_lora": WHOLE,
}
EXTRA_FIELDS = {  # key in `extra` -> source column
    "steps": "num_inference_steps",
    "num_lora": "num_lora",
    "images_per_prompt": "num_images_per_prompt",
    "prompt_chars": "prompt_length",
    "negative_prompt_chars": "negative_prompt_length",
}
EXPECTS_REQUESTS = (
    "a CSV with header gmt_create,predict_type,predict_status,exec_time_seconds,groupId,..."
)
_FINISHED = "predict_status IN ('SUCCEED', 'FAILED')"


def sniff_requests(head: bytes, name: str) -> bool:
    return header_has(head, REQUEST_COLUMNS)


def _extra_sql(header: Sequence[str]) -> str:
    fields = [f"'{key}', \"{col}\"" for key, col in EXTRA_FIELDS.items() if col in header]
    base = f"json_object({', '.join(fields)})"
    unfinished = "json_object('exec_time_seconds', exec_time_seconds)"
    if fields:
        unfinished = f"json_merge_patch({base}, {unfinished})"
    else:
        base = "NULL"
    return f"(CASE WHEN {_FINISHED} THEN {base} ELSE {unfinished} END)::VARCHAR"


def read_requests(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        header = require_columns(path, EXPECTS_REQUESTS, REQUEST_COLUMNS, "alibaba_genai_2026")
        rejects = ctx.rejects_table()
        scan, checks = checked_scan(path, header, REQUEST_TYPES, rejects, required=["gmt_create"])
        yield TableQuery(
            table="requests",
            sql=f"""
            SELECT gmt_create AS ts,
                   checkpoint_model_version_id AS service,
                   groupId AS tenant,
                   predict_type AS kind,
                   CASE WHEN {_FINISHED} THEN exec_time_seconds END AS duration_s,
                   CASE predict_status WHEN 'SUCCEED' THEN 'ok' WHEN 'FAILED' THEN 'failed'
                        ELSE 'unknown' END AS status,
                   predict_status AS status_raw,
                   {_extra_sql(header)} AS extra, {PROBLEM}
            FROM {scan}""",
            files=(path,),
            rejects=rejects,
            checks=checks,
        )


# ---------------------------------------------------------------- monitoring metrics

METRIC_COLUMNS = ("timestamp_anon", "value", "container_ip")
EXPECTS_METRICS = (
    "a GenTD26 metric archive (*_anon.tar.gz) or CSV with header timestamp_anon,value,container_ip"
)
SAMPLE_INTERVAL_S = 57.0
BATCH_ROWS = 50_000
_MISSING_IDS = ("", "NULL", "None")


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str | None
    divisor: float  # turns the published value into `unit`


# File names from the dataset README, with the units it documents; latencies are published
# in ms and stored in seconds.
METRICS = {
    "basemodel_update_latency": Metric("basemodel_update_latency", "s", 1000.0),
    "base_model_update_latency": Metric("basemodel_update_latency", "s", 1000.0),
    "lora_update_latency": Metric("lora_update_latency", "s", 1000.0),
    "model_predict_data": Metric("inference_latency", "s", 1000.0),
    "pipeline_update_latency": Metric("pipeline_update_latency", "s", 1000.0),
    "controlnet_latency_data": Metric("controlnet_update_latency", "s", 1000.0),
    "pipeline_inference_data": Metric("e2e_latency", "s", 1000.0),
    "queue_rt_raw": Metric("queue_time", "s", 1000.0),
    "queue_size_raw": Metric("queue_size", "tasks", 1.0),
    "pod_memory_util": Metric("mem_util", "percent", 1.0),
    "pod_gpu_duty_cycle": Metric("gpu_util", "percent", 1.0),
    "pod_gpu_memory_used_bytes": Metric("gpu_mem_gb", "GB", float(2**30)),
    "qps": Metric("qps", "req/s", 1.0),
}

ARROW_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("us", tz="UTC")),
        ("entity", pa.string()),
        ("kind", pa.string()),
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("unit", pa.string()),
    ]
)


def metric_for(member: str) -> Metric:
    """The metric a file holds, from its name; unknown names keep their value and no unit."""
    name = Path(member).name
    for ext in (".gz", ".tar", ".csv"):
        name = name.removesuffix(ext)
    key = name.removesuffix("_anon")
    return METRICS.get(key) or Metric(slug(key), None, 1.0)


def _is_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def sniff_metrics(head: bytes, name: str) -> bool:
    if not _is_tar(head):
        return header_has(head, METRIC_COLUMNS)
    # A member's data starts on a 512-byte block after its header (and any pax header).
    blocks = range(512, min(len(head), 8 * 512), 512)
    return any(header_has(head[off:], METRIC_COLUMNS) for off in blocks)


def _sample(row: list[str], header: list[str], i_ts: int, i_val: int) -> tuple[float, float]:
    """(time, value) of one CSV row, by the rules of checked scans; BadValue otherwise."""
    if [c.strip() for c in row] == header:
        raise BadValue("repeated-header", "the header line again")
    ts = parse_finite(row[i_ts], "timestamp_anon")
    value = parse_finite(row[i_val], "value")
    if ts is None:
        raise BadValue("missing-field", "timestamp_anon: the field is empty; every row needs it")
    if value is None:
        raise BadValue("missing-field", "value: the field is empty; every row needs it")
    check_seconds(ts, "timestamp_anon", row[i_ts])
    return ts, value


class _Batches:
    """Columns for the Arrow batches, filled row by row and flushed every BATCH_ROWS rows."""

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {f.name: [] for f in ARROW_SCHEMA}

    def __len__(self) -> int:
        return len(self.cols["ts"])

    def flush(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(self.cols, schema=ARROW_SCHEMA)
        for v in self.cols.values():
            v.clear()
        return batch


def _open(path: Path) -> IO[bytes]:
    if is_gzip(path):
        # GzipFile is a binary stream, though typeshed does not declare it an IO[bytes].
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _members(path: Path) -> Generator[tuple[str, str, IO[bytes]], None, None]:
    """(where, file name, byte stream) of each CSV in a tar archive, or of the file itself."""
    try:
        if tarfile.is_tarfile(path):
            # Stream mode ("r|*"): members are read in order, never extracted to disk.
            with tarfile.open(path, mode="r|*") as tar:
                for member in tar:
                    f = tar.extractfile(member) if member.isfile() else None
                    if f is not None and member.name.endswith(".csv"):
                        yield f"{path}:{member.name}", member.name, f
        else:
            with _open(path) as f:
                yield str(path), path.name, f
    except (EOFError, OSError, zlib.error, tarfile.TarError) as e:
        raise CorruptFile(
            f"{path}: the archive ends or breaks before its end ({e}). It is probably "
            "truncated; download it again and check its sha256."
        ) from e


def _rows(stream: IO[bytes], where: str) -> tuple[Any, list[str]]:
    """A csv reader over a byte stream, and the header it starts with (checked)."""
    # Decoding line by line: TextIOWrapper needs seekable(), which a streamed tar member lacks.
    reader = csv.reader(raw.decode("utf-8", errors="replace") for raw in stream)
    header = [c.strip().lstrip("\ufeff") for c in next(reader, [])]
    missing = [c for c in METRIC_COLUMNS if c not in header]
    if missing:
        raise MissingColumns(
            f"{where}, line 1: missing column(s) {', '.join(missing)} for source "
            f"'alibaba_genai_2026_metrics'. Found: {', '.join(header[:12]) or '(nothing)'}. "
            f"Expected {EXPECTS_METRICS}."
        )
    return reader, header


def _member_batches(
    stream: IO[bytes], where: str, metric: Metric, out: _Batches, ctx: ReadContext
) -> Iterator[pa.RecordBatch]:
    reader, header = _rows(stream, where)
    i_ts, i_val, i_ip = (header.index(c) for c in METRIC_COLUMNS)
    i_kind = header.index("request_type") if "request_type" in header else None
    for row in reader:
        if not row or row == [""]:
            continue
        line = reader.line_num
        raw = ",".join(row)[:500]
        if len(row) != len(header):
            problem = f"{len(row)} fields, the header has {len(header)}"
            ctx.reject(Rejected(where, line, "wrong-column-count", problem, raw))
            continue
        try:
            ts, value = _sample(row, header, i_ts, i_val)
        except BadValue as e:
            column = None if e.problem == "repeated-header" else str(e).split(":", 1)[0]
            ctx.reject(Rejected(where, line, e.problem, str(e), raw, column))
            continue
        ip = row[i_ip].strip()
        out.cols["ts"].append(round(ts * 1e6))
        out.cols["entity"].append(None if ip in _MISSING_IDS else ip)
        out.cols["kind"].append((row[i_kind] or None) if i_kind is not None else None)
        out.cols["metric"].append(metric.name)
        out.cols["value"].append(value / metric.divisor)
        out.cols["unit"].append(metric.unit)
        if len(out) >= BATCH_ROWS:
            yield out.flush()


def _metric_batches(path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
    out = _Batches()
    members = 0
    for where, name, stream in _members(path):
        members += 1
        yield from _member_batches(stream, where, metric_for(name), out, ctx)
    if members == 0:
        raise EmptyFile(f"{path}: the archive holds no CSV file; expected {EXPECTS_METRICS}.")
    if len(out):
        yield out.flush()


def _check_first_member(path: Path) -> None:
    """Fail now on a wrong header: raised inside DuckDB's scan, the error would lose its type."""
    members = _members(path)
    try:
        for where, _, stream in members:
            _rows(stream, where)
            return
        raise EmptyFile(f"{path}: the archive holds no CSV file; expected {EXPECTS_METRICS}.")
    finally:
        members.close()


def read_metrics(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        _check_first_member(path)
        reader = pa.RecordBatchReader.from_batches(ARROW_SCHEMA, _metric_batches(path, ctx))
        yield TableQuery(
            table="series",
            sql=f"SELECT ts, {SAMPLE_INTERVAL_S} AS interval_s, entity, kind, metric, value, "
            "unit FROM arrow_input",
            files=(path,),
            arrow=reader,
        )


def _record_rule(path: Path) -> RecordRule | None:
    """CSV lines; the tar archives' records sit inside members, read by their own reader."""
    return None if _is_tar(read_head(path)) else CSV_WITH_HEADER


SOURCE = Source(
    records=_record_rule,
    name="alibaba_genai_2026",
    family="llm_serving",
    tables=("requests",),
    description="Alibaba GenTD26 Stable-Diffusion requests: type, status, execution time, "
    "steps, LoRA count, prompt length in characters.",
    citation=CITATION,
    expects=EXPECTS_REQUESTS,
    time_resolution_s=1.0,
    time_origin="absolute",
    sniff=sniff_requests,
    columns=REQUEST_COLUMNS,
    read=read_requests,
    trace_name=lambda path: "alibaba_genai_2026",
)

SOURCE_METRICS = Source(
    records=_record_rule,
    name="alibaba_genai_2026_metrics",
    family="llm_serving",
    tables=("series",),
    description="Alibaba GenTD26 per-container monitoring: base-model and LoRA load latency, "
    "pure inference latency (and the release's other metric archives), on a 57 s grid.",
    citation=CITATION,
    expects=EXPECTS_METRICS,
    time_resolution_s=SAMPLE_INTERVAL_S,
    time_origin="absolute",
    sniff=sniff_metrics,
    columns=METRIC_COLUMNS,
    read=read_metrics,
    trace_name=lambda path: "alibaba_genai_2026_metrics",
)
