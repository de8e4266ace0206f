"""Vidur (MLSys'24) GPU operator profiles, from microsoft/vidur `data/profiling`.

Measured execution times of the operators a transformer iteration runs, for training a
batch-time predictor:

- `compute/<gpu>/<org>/<model>/mlp.csv` (and `attention.csv`): per operator X,
  `time_stats.X.{min,max,mean,median,std}` in milliseconds, then the configuration
  (`num_tokens`, `num_tensor_parallel_workers`, `n_head`, `n_embd`, ...; attention adds
  `batch_size`, `kv_cache_size`, `is_prefill`, ...).
- `network/<setup>/all_reduce.csv`, `send_recv.csv`: an unnamed pandas index (dropped), the
  same time stats for the collective, then `rank`, `num_workers`, `size` (bytes),
  `collective`, `devices_per_node`, `max_devices_per_node`.

The wide files are unpivoted in DuckDB into `measurements`: subject `<gpu>/<org>/<model>/tp<n>`
(or `<setup>/workers<n>`), benchmark = operator, metric = the statistic, value in seconds,
sku = the GPU (for network setups, the part of the setup name before the first `_`). Every
configuration column goes to `extra` as JSON with the file's own column names and types, plus
`profile` (mlp, attention, all_reduce, ...), so a predictor reads its features back with
`extra->>'num_tokens'`. One trace for the whole profiling folder.

Values are kept or rejected, never changed: configuration counts must be whole numbers >= 0
(never rounded), every time statistic a finite number, and a line needs the tensor parallelism
(compute) or worker count (network) that names its subject; a line breaking any of these is
rejected with its line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from ingest.errors import EmptyFile, MissingColumns
from ingest.records import CSV_WITH_HEADER
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    csv_header,
    read_head,
    reshaping,
    sql_str,
    stem,
)
from ingest.sources.checks import PROBLEM, checked_scan, unpivot
from ingest.sources.checks import WHOLE as WHOLE_NUMBER

TIME_PREFIX = "time_stats."
COMPUTE_KEY = "num_tensor_parallel_workers"
NETWORK_KEY = "num_workers"
INDEX = "row_index"  # our name for the unnamed pandas index of the network files
EXPECTS = (
    "a Vidur profiling CSV: time_stats.<op>.{min,max,mean,median,std} columns plus "
    "num_tensor_parallel_workers (compute) or num_workers (network)"
)
# Declared so that bad values are rejected with their line and JSON keeps numbers as numbers.
WHOLE = (
    "n_head",
    "n_kv_head",
    "n_q_head",
    "n_embd",
    "n_expanded_embd",
    "vocab_size",
    "num_tokens",
    "num_tensor_parallel_workers",
    "block_size",
    "max_model_len",
    "batch_size",
    "prefill_chunk_size",
    "kv_cache_size",
    "rank",
    "num_workers",
    "size",
    "devices_per_node",
    "max_devices_per_node",
    INDEX,
)
FLAGS = ("use_gated_mlp", "is_prefill")


def _time_columns(header: Sequence[str]) -> list[str]:
    return [c for c in header if c.startswith(TIME_PREFIX) and c.count(".") >= 2]


def sniff(head: bytes, name: str) -> bool:
    header = csv_header(head)
    return bool(_time_columns(header)) and (COMPUTE_KEY in header or NETWORK_KEY in header)


def trace_name(path: Path) -> str:
    return "vidur_profiling"


def _types(header: Sequence[str]) -> dict[str, str]:
    types = {c: "DOUBLE" for c in _time_columns(header)}
    types.update({c: WHOLE_NUMBER for c in WHOLE if c in header})
    types.update({c: "BOOLEAN" for c in FLAGS if c in header})
    return types


def _header(path: Path) -> list[str]:
    head = read_head(path)
    if not head.strip():
        raise EmptyFile(f"{path}: the file is empty; expected {EXPECTS}.")
    header = csv_header(head)
    if not _time_columns(header) or not (COMPUTE_KEY in header or NETWORK_KEY in header):
        missing = (
            "time_stats.<op>.<stat> columns"
            if not _time_columns(header)
            else (f"{COMPUTE_KEY} or {NETWORK_KEY}")
        )
        raise MissingColumns(
            f"{path}, line 1: missing {missing} for source 'vidur_profiling'. Found: "
            f"{', '.join(header[:8]) or '(nothing)'}, ... Expected {EXPECTS}. If this file is "
            "another format, pass --source NAME (see `traces sources`)."
        )
    # pandas writes its index with an empty name; DuckDB needs a name to bind it.
    return [INDEX if (i == 0 and not c) else c for i, c in enumerate(header)]


def _compute_ids(path: Path) -> tuple[str, str]:
    """(gpu, org/model) from compute/<gpu>/<org>/<model>/<file>."""
    parts = path.parts
    if "compute" in parts[:-1]:
        at = len(parts) - 1 - parts[::-1].index("compute")
        rest = parts[at + 1 : -1]
        if rest:
            return rest[0], "/".join(rest[1:]) or rest[0]
    return path.parents[2].name, f"{path.parents[1].name}/{path.parent.name}"


def _ids(path: Path, header: Sequence[str]) -> tuple[str, str]:
    """(subject SQL expression, sku) for a file."""
    if COMPUTE_KEY in header:
        gpu, model = _compute_ids(path)
        return f"{sql_str(f'{gpu}/{model}/tp')} || {COMPUTE_KEY}", gpu
    setup = path.parent.name
    return f"{sql_str(f'{setup}/workers')} || {NETWORK_KEY}", setup.split("_", 1)[0]


def _extra(header: Sequence[str], profile: str) -> str:
    config = [c for c in header if not c.startswith(TIME_PREFIX) and c != INDEX]
    pairs = [f"'profile', {sql_str(profile)}"] + [f'{sql_str(c)}, "{c}"' for c in config]
    return f"json_object({', '.join(pairs)})::VARCHAR"


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        header = _header(path)
        subject, sku = _ids(path, header)
        rejects = ctx.rejects_table()
        # The tensor parallelism (compute) or worker count (network) names the subject.
        key = COMPUTE_KEY if COMPUTE_KEY in header else NETWORK_KEY
        scan, checks = checked_scan(path, header, _types(header), rejects, required=[key])
        wide = (
            f"(SELECT {subject} AS subject, {_extra(header, stem(path))} AS extra, * FROM {scan})"
        )
        first = _time_columns(header)[0]
        long = unpivot(wide, "COLUMNS('^time_stats\\.')", "col", "ms", first)
        yield TableQuery(
            table="measurements",
            sql=f"""
            SELECT subject,
                   regexp_extract(col, '^time_stats\\.(.+)\\.[^.]+$', 1) AS benchmark,
                   regexp_extract(col, '\\.([^.]+)$', 1) AS metric,
                   ms / 1000.0 AS value,
                   extra, {PROBLEM}
            FROM {long}""",
            files=(path,),
            **reshaping(path, header, rejects),
            constants={"unit": "s", "sku": sku},
            rejects=rejects,
            checks=checks,
        )


SOURCE = Source(
    records=CSV_WITH_HEADER,
    name="vidur_profiling",
    family="llm_serving",
    tables=("measurements",),
    description="Vidur GPU operator profiles: MLP/attention operator and all-reduce/send-recv "
    "times (min/max/mean/median/std, s) per GPU, model, tensor parallelism and batch size.",
    citation='Agrawal et al., "Vidur: A Large-Scale Simulation Framework for LLM Inference", '
    "MLSys 2024.",
    expects=EXPECTS,
    time_resolution_s=None,
    time_origin="none",
    sniff=sniff,
    read=read,
    trace_name=trace_name,
)
