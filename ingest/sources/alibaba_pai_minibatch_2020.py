"""Alibaba PAI 2020 mini-batch time of workers in distributed training jobs sharing GPUs.

Two file shapes, one trace (`cluster-trace-gpu-v2020/mini-batch-time/data/`):

- `job_<N>_norm.csv`: `,worker,gpu,time,batch_time_norm` (first column: an unnamed row index).
  One row per worker and sampled iteration (`time`, from 1); `batch_time_norm` is the mini-batch
  time normalized to 0-1000, so its unit is `normalized`, not seconds; `gpu` is each worker's GPU
  request in percent of one GPU (20-50), kept in `extra` as `num_gpus` (fraction, as in `jobs`).
  -> `measurements`, subject `job_<N>/worker_<w>`, run = `time`.
- `coefficient_variation.csv`: one row per job (`job_00` .. `job_99`), one column per iteration
  (`0` .. `1999`); each cell is sigma/mu (population sigma) of the job's 10 workers' mini-batch
  times in that iteration (README). A statistic over workers, not a measurement of one subject,
  so -> `summaries` (entity = job, stat `cv`, count = 10 workers, iteration in `extra`). Jobs
  shorter than 2000 iterations leave their trailing cells empty: those are absent iterations,
  not unknown values, and produce no row.

The `job_00..99` ids of the CoV file and the `job_1..4` of the per-worker files are separate
samples in the release; nothing links them. There is no wall-clock time: `ts` is NULL.

Values are kept or rejected, never changed: worker and iteration (`time`) numbers must be
whole numbers >= 0 (never rounded), GPU shares, batch times and CoVs finite numbers, and a
line needs its worker and iteration (per-worker files) or its job (CoV).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from ingest.errors import EmptyFile, MissingColumns
from ingest.records import CSV_WITH_HEADER
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    csv_header,
    head_lines,
    header_has,
    is_gzip,
    require_columns,
    reshaping,
    slug,
    sql_str,
    stem,
)
from ingest.sources.checks import PROBLEM, WHOLE, checked_scan, unpivot

NAME = "alibaba_pai_minibatch_2020"
JOB_COLUMNS = ("worker", "gpu", "time", "batch_time_norm")
JOB_TYPES = {"worker": WHOLE, "gpu": "DOUBLE", "time": WHOLE, "batch_time_norm": "DOUBLE"}
JOB_EXPECTS = "job_<N>_norm.csv with header ,worker,gpu,time,batch_time_norm"
COV_STEM = "coefficient_variation"
COV_EXPECTS = "coefficient_variation.csv with header ,0,1,2,... and one row per job"
EXPECTS = f"{JOB_EXPECTS}, or {COV_EXPECTS}"
# README: "The released data includes 100 training jobs that each have 10 workers."
WORKERS_PER_JOB = 10

_JOB_FILE = re.compile(r"job_(\d+)_norm")


def _is_iteration_header(cells: list[str]) -> bool:
    # Only the first cells: a header longer than the sniffed head is cut mid-cell.
    first = cells[1:100]
    return len(cells) >= 2 and cells[0] == "" and first == [str(i) for i in range(len(first))]


def _is_cov(head: bytes, name: str) -> bool:
    lines = head_lines(head, 2)
    return (
        stem(Path(name)).startswith(COV_STEM)
        and _is_iteration_header(csv_header(head))
        and len(lines) == 2
        and lines[1].split(",", 1)[0].strip() != ""
    )


def sniff(head: bytes, name: str) -> bool:
    return header_has(head, JOB_COLUMNS) or _is_cov(head, name)


def _job_label(path: Path) -> str:
    m = _JOB_FILE.fullmatch(stem(path))
    return f"job_{m.group(1)}" if m else slug(stem(path))


def _job_query(path: Path, ctx: ReadContext) -> TableQuery:
    header = require_columns(path, JOB_EXPECTS, JOB_COLUMNS, NAME)
    # The row index column has no name; DuckDB binds columns by position, so any name does.
    columns = [c or f"column{i}" for i, c in enumerate(header)]
    rejects = ctx.rejects_table()
    scan, checks = checked_scan(path, columns, JOB_TYPES, rejects, required=["worker", "time"])
    prefix = sql_str(_job_label(path) + "/worker_")
    return TableQuery(
        table="measurements",
        sql=f"""SELECT {prefix} || worker AS subject, batch_time_norm AS value, "time" AS run,
                       json_object('num_gpus', gpu / 100)::VARCHAR AS extra, {PROBLEM}
                FROM {scan}""",
        checks=checks,
        files=(path,),
        constants={
            "benchmark": "minibatch_time",
            "metric": "batch_time_norm",
            "unit": "normalized",
        },
        rejects=rejects,
    )


def _first_line(path: Path) -> str:
    # The header has one cell per iteration and may outgrow the sniffed head.
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        return f.readline()


def _cov_query(path: Path, ctx: ReadContext) -> TableQuery:
    line = _first_line(path)
    if not line.strip():
        raise EmptyFile(f"{path}: the file is empty; expected {COV_EXPECTS}.")
    header = csv_header(line.encode())
    if not _is_iteration_header(header) or header[1:] != [str(i) for i in range(len(header) - 1)]:
        raise MissingColumns(
            f"{path}, line 1: expected {COV_EXPECTS} (iteration columns 0, 1, 2, ... after an "
            f"empty first cell); found {', '.join(header[:6])}. If this file is another format, "
            "pass --source NAME (see `traces sources`)."
        )
    columns = ["job", *header[1:]]
    rejects = ctx.rejects_table()
    scan, checks = checked_scan(
        path, columns, dict.fromkeys(header[1:], "DOUBLE"), rejects, required=["job"]
    )
    # UNPIVOT skips NULL cells: the empty tail of a job shorter than the widest one.
    long = unpivot(
        f"(SELECT * FROM {scan})",
        f"COLUMNS(* EXCLUDE (job, {PROBLEM}))",
        "iteration",
        "cv",
        header[1],
    )
    return TableQuery(
        table="summaries",
        sql=f"""SELECT job AS entity, cv AS value, {WORKERS_PER_JOB} AS count,
                       json_object('iteration', CAST(iteration AS BIGINT))::VARCHAR AS extra,
                       {PROBLEM}
                FROM {long}""",
        checks=checks,
        files=(path,),
        **reshaping(path, columns, rejects),
        constants={"metric": "minibatch_time", "stat": "cv", "unit": "ratio"},
        rejects=rejects,
    )


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    for path in paths:
        if stem(path).startswith(COV_STEM):
            yield _cov_query(path, ctx)
        else:
            yield _job_query(path, ctx)


def trace_name(path: Path) -> str:
    # The per-worker files and the CoV table are one release: one trace, two tables.
    return NAME


SOURCE = Source(
    records=CSV_WITH_HEADER,
    name=NAME,
    family="vm_interference",
    tables=("measurements", "summaries"),
    description="Alibaba PAI 2020 mini-batch times (normalized 0-1000) of workers sharing GPUs "
    "in 4 training jobs, and the per-iteration CoV across workers of 100 jobs.",
    citation='Weng et al., "MLaaS in the Wild: Workload Analysis and Scheduling in '
    'Large-Scale Heterogeneous GPU Clusters", NSDI 2022; Xiao et al., "AntMan: Dynamic '
    'Scaling on GPU Clusters for Deep Learning", OSDI 2020.',
    expects=EXPECTS,
    # No clock at all (ts is NULL): only the order of iterations is known.
    time_resolution_s=None,
    time_origin="relative",
    sniff=sniff,
    read=read,
    trace_name=trace_name,
    columns=JOB_COLUMNS,
)
