"""Where a trace's queries run: here, one after another on one DuckDB connection (default), or
as Spark tasks (`traces ingest --engine spark`), one task per query.

Either way each query goes through `execute`: the source's DuckDB SQL is parsed and written as
canonical Parquet by `write.run_query`, and its rejected lines and findings come back as a
`QueryOutcome`. On Spark that happens inside a task, on whichever machine runs it: Spark
schedules, DuckDB parses. The output is therefore the same schema, the same rows and the same
rejects (line numbers included) as the default, by construction rather than by a second copy
of every source in another dialect. The unit of parallelism is a query, which for almost every
source is one input file: sharded traces (Borg 2019, Huawei 2025, Alibaba) spread over the
cluster, a single huge file does not (DuckDB already parses it on every core of one machine).
"""

from __future__ import annotations

import hashlib
import pickle
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb

from ingest.errors import TracesError, UsageError
from ingest.problems import Rejected
from ingest.quality import Finding, order_finding
from ingest.sources.base import ReadContext, TableQuery
from ingest.write import ProgressFn, connect, csv_rejects, run_query

ENGINES = ("duckdb", "spark")
ATTEMPT_PREFIX = "_attempt-"


@dataclass
class QueryOutcome:
    """What running one TableQuery produced (its Parquet is already in the stage)."""

    part: int
    table: str
    written: int
    rejects: list[Rejected]
    findings: list[Finding]
    attempt_dir: str | None = None  # Spark: where this attempt wrote, to be moved into place
    files: tuple[str, ...] = ()
    # Records of `files` the query's reader accounted for (rows + rejected lines), to check
    # against the independent count; None when another query accounts for these files.
    accounted: int | None = None


def execute(
    con: duckdb.DuckDBPyConnection,
    tq: TableQuery,
    out_dir: Path,
    part: int,
    trace: str,
    ctx: ReadContext | None = None,
    report: ProgressFn | None = None,
) -> QueryOutcome:
    """Run one query into `out_dir`, collect the lines its CSV reader refused, and check it."""
    rejected_before = ctx.rejected_count if ctx else 0
    written, flagged = run_query(con, tq, out_dir, part, trace, report)
    rejects = csv_rejects(con, tq.rejects) if tq.rejects else []
    if tq.checks is not None:
        rejects = tq.checks.relabel(rejects)
        if flagged:
            seen = {(r.file, r.line) for r in rejects if r.line is not None}
            rejects += tq.checks.locate(con, skip=seen)
    rejected_now = len(rejects) + (ctx.rejected_count - rejected_before if ctx else 0)
    accounted: int | None = None
    if tq.accounting == "rows":
        accounted = written + rejected_now
    elif tq.accounting == "scan" and tq.count_scan:
        accounted = parsed_records(con, tq)
    return QueryOutcome(
        part,
        tq.table,
        written,
        rejects,
        query_findings(con, tq, written, rejected_now),
        files=tuple(str(f) for f in tq.files),
        accounted=accounted,
    )


def parsed_records(con: duckdb.DuckDBPyConnection, tq: TableQuery) -> int:
    """Rows plus rejected lines of the query's text-only count scan (see TableQuery)."""
    assert tq.count_scan is not None
    rows = con.sql(f"SELECT count(*) FROM {tq.count_scan}").fetchall()[0][0]
    table = re.search(r"rejects_table='([^']+)'", tq.count_scan)
    if not table:
        return int(rows)
    name = table.group(1)
    lines = con.sql(f"SELECT count(DISTINCT (scan_id, file_id, line)) FROM {name}").fetchall()
    con.sql(f"DROP TABLE IF EXISTS {name}; DROP TABLE IF EXISTS {name}_scan")
    return int(rows) + int(lines[0][0])


def query_findings(
    con: duckdb.DuckDBPyConnection, tq: TableQuery, written: int, rejected: int
) -> list[Finding]:
    files = ", ".join(f.name for f in tq.files)
    out: list[Finding] = []
    if written == 0 and rejected == 0:
        out.append(Finding("empty-file", tq.table, len(tq.files), f"{files} gave no rows"))
    if tq.in_file_order and tq.arrow is None and written:
        found = order_finding(con, tq.table, tq.sql, files)
        if tq.rejects:  # the re-read filled the rejects table again: drop the copy
            con.execute(
                f"DROP TABLE IF EXISTS {tq.rejects}; DROP TABLE IF EXISTS {tq.rejects}_scan"
            )
        if found:
            out.append(found)
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(4 << 20):
            h.update(chunk)
    return h.hexdigest()


class Runner(Protocol):
    """Runs a trace's queries into its stage; yields one outcome per query, in any order."""

    name: str

    def run(
        self,
        queries: Iterable[TableQuery],
        stage_dir: Callable[[str], Path],
        trace: str,
        ctx: ReadContext,
        progress: Callable[[int], None],
    ) -> Iterator[QueryOutcome]:
        """`stage_dir(table)` is where a table's Parquet goes; `progress(bytes)` is called
        with the input bytes of each query as it finishes (or as it goes, when it can)."""
        ...

    def close(self) -> None: ...

    def interrupt(self) -> None:
        """Stop the query running now (a file was found unreadable meanwhile)."""
        ...


def _size(tq: TableQuery) -> int:
    return sum(f.stat().st_size for f in tq.files)


class LocalRunner:
    """The default: queries one after another on one DuckDB connection (all cores each)."""

    name = "duckdb"

    def __init__(self) -> None:
        self.con = connect()

    def run(
        self,
        queries: Iterable[TableQuery],
        stage_dir: Callable[[str], Path],
        trace: str,
        ctx: ReadContext,
        progress: Callable[[int], None],
    ) -> Iterator[QueryOutcome]:
        done = 0
        for part, tq in enumerate(queries):
            size = _size(tq)
            base = done

            def report(frac: float, base: int = base, size: int = size) -> None:
                progress(base + int(frac * size))

            yield execute(self.con, tq, stage_dir(tq.table), part, trace, ctx, report)
            done += size
            progress(done)

    def close(self) -> None:
        self.con.close()

    def interrupt(self) -> None:
        self.con.interrupt()


# ---------------------------------------------------------------- Spark


@dataclass(frozen=True)
class _Task:
    """One query for a Spark task: everything it needs, picklable (no open streams)."""

    part: int
    query: TableQuery
    out_dir: Path
    trace: str
    threads: int


def _run_task(task: _Task) -> QueryOutcome:
    """Body of a Spark task: a fresh DuckDB connection, one query, the inputs' checksums.

    Each attempt writes into its own folder: Spark may run a task twice (a retry after a lost
    executor, speculation), and only the attempt whose result reaches the driver is kept."""
    attempt = task.out_dir / f"{ATTEMPT_PREFIX}{task.part}-{uuid.uuid4().hex[:12]}"
    con = connect()
    try:
        # Spark gives each task `spark.task.cpus` cores; DuckDB must not take them all, and a
        # task's memory is shared with the other tasks of its executor.
        con.execute(f"SET threads = {task.threads}")
        con.execute("SET memory_limit = '1GB'")
        outcome = execute(con, task.query, attempt, task.part, task.trace)
    finally:
        con.close()
    outcome.attempt_dir = str(attempt)
    return outcome


def _keep_attempt(outcome: QueryOutcome, out_dir: Path) -> None:
    """Move the kept attempt's files into the stage; drop every other attempt's folder."""
    if outcome.attempt_dir:
        attempt = Path(outcome.attempt_dir)
        for f in sorted(attempt.glob("*.parquet")) if attempt.is_dir() else []:
            f.rename(out_dir / f.name)
    for other in out_dir.glob(f"{ATTEMPT_PREFIX}{outcome.part}-*"):
        shutil.rmtree(other, ignore_errors=True)


def _spark_partition(batches: Iterator[Any]) -> Iterator[Any]:
    """mapInArrow body: pickled `_Task`s in, pickled `QueryOutcome`s (or typed errors) out."""
    import pyarrow as pa

    for batch in batches:
        results = []
        for blob in batch.column("task").to_pylist():
            task: _Task = pickle.loads(blob)
            try:
                result: Any = _run_task(task)
            except TracesError as e:  # sent back as it is: the driver raises it for the trace
                result = e
            results.append(pickle.dumps(result))
        yield pa.RecordBatch.from_pydict(
            {"result": results}, schema=pa.schema([("result", pa.binary())])
        )


class SparkRunner:
    """Each SQL query of a trace as one Spark task; streamed (Arrow) queries stay on the driver.

    Works on a classic session and on Spark Connect (it uses DataFrame.mapInArrow, not RDDs).
    The executors must have this package installed and see the input files and the lake at
    the same paths as the driver (a shared file system), since they write the stage directly.
    """

    name = "spark"

    def __init__(self, session: Any = None, remote: str | None = None) -> None:
        if session is None:
            from ingest.spark import spark_session

            session = spark_session(remote)
        self.spark = session
        try:
            self.threads = int(self.spark.conf.get("spark.task.cpus", "1"))
        except Exception:  # Spark Connect may refuse to read some confs
            self.threads = 1
        self.local = LocalRunner()

    def run(
        self,
        queries: Iterable[TableQuery],
        stage_dir: Callable[[str], Path],
        trace: str,
        ctx: ReadContext,
        progress: Callable[[int], None],
    ) -> Iterator[QueryOutcome]:
        tasks: list[_Task] = []
        streamed: list[tuple[int, TableQuery]] = []
        sizes: dict[int, int] = {}
        for part, tq in enumerate(queries):
            sizes[part] = _size(tq)
            if tq.arrow is None:
                tasks.append(_Task(part, tq, stage_dir(tq.table), trace, self.threads))
            else:
                streamed.append((part, tq))
        done = 0
        if tasks:
            out_dirs = {t.part: t.out_dir for t in tasks}
            for outcome in self._submit(tasks):
                _keep_attempt(outcome, out_dirs[outcome.part])
                done += sizes[outcome.part]
                progress(done)
                yield outcome
        for part, tq in streamed:
            yield execute(self.local.con, tq, stage_dir(tq.table), part, trace, ctx)
            done += sizes[part]
            progress(done)

    def _submit(self, tasks: list[_Task]) -> Iterator[QueryOutcome]:
        import pyarrow as pa

        table = pa.table({"task": [pickle.dumps(t) for t in tasks]})
        # One task per partition: Spark balances them over the executors' cores.
        df = self.spark.createDataFrame(table).repartition(len(tasks))
        out = df.mapInArrow(_spark_partition, "result binary")
        for row in out.toLocalIterator():
            result = pickle.loads(row["result"])
            if isinstance(result, BaseException):
                raise result
            yield result

    def close(self) -> None:
        self.local.close()

    def interrupt(self) -> None:
        pass  # Spark tasks run elsewhere: the trace is refused when they are done


def make_runner(engine: str = "duckdb") -> Runner:
    """A runner by engine name: `duckdb`, `spark` (local[2], spark-submit's master or
    $TRACES_SPARK_REMOTE) or a Spark Connect URL `sc://host:port`."""
    if engine == "duckdb":
        return LocalRunner()
    if engine == "spark" or engine.startswith("sc://"):
        from ingest.spark import spark_available

        remote = engine if engine.startswith("sc://") else None
        why = spark_available(remote)
        if why:
            raise UsageError(
                f"--engine spark: {why}. Install it with: pip install -e '.[spark]' "
                "(and Java 17 for a local Spark)."
            )
        return SparkRunner(remote=remote)
    raise UsageError(
        f"unknown engine {engine!r}; use one of {', '.join(ENGINES)} or a Spark Connect URL "
        "(sc://host:15002)."
    )
