"""Run a source's TableQuery and write canonical Parquet into a stage, keeping rejected rows.

DuckDB does the parsing and writing in parallel (`COPY ... PER_THREAD_OUTPUT`), streaming, so
memory stays flat as the file grows. Bad lines come from two places: the CSV reader's rejects
table (parse failures, with line number and text) and the schema invariants, checked on the
staged Parquet afterwards, which is cheap because only a few columns are read.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.errors import CorruptFile, DataError, TracesError
from ingest.problems import RAW_LIMIT, REJECTED_SCHEMA, Rejected, bounded
from ingest.schema import (
    INVARIANTS,
    META_SCHEMA_VERSION,
    META_TABLE,
    META_TRACE,
    SCHEMA_VERSION,
    TABLES,
    TS,
    Table,
)
from ingest.sources.base import TableQuery, glob_escape, sql_str
from ingest.sources.checks import PROBLEM

ProgressFn = Callable[[float], None]  # fraction of the current query done, 0..1

_DUCK_TYPES = {
    pa.string(): "VARCHAR",
    TS: "TIMESTAMPTZ",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.list_(pa.int64()): "BIGINT[]",
}


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # Zone-less timestamps mean UTC everywhere, whatever the machine's zone is.
    con.sql("SET TimeZone = 'UTC'")
    try:
        # Progress is polled with query_progress() for our own bar; DuckDB must not print.
        con.sql("SET enable_progress_bar = true")
        con.sql("SET enable_progress_bar_print = false")
    except duckdb.InvalidInputException:
        pass  # inside Jupyter without ipywidgets DuckDB refuses these: ingest runs without a bar
    return con


def _enum(value: str) -> str:
    # A one-value ENUM is written to Parquet as a dictionary-encoded string without
    # materializing the string for every row: constant columns become nearly free.
    lit = sql_str(value)
    return f"{lit}::ENUM({lit})"


def projection(
    table: Table, available: set[str], constants: dict[str, str], trace: str, marked: bool = False
) -> str:
    """The canonical columns as SQL over a source's query; with `marked`, a row whose
    `_problem` is set gets a NULL trace, which no kept row has (see `run_query`)."""
    parts = []
    for col in table.columns:
        duck = _DUCK_TYPES[col.type]
        if col.name == "trace" and marked:
            parts.append(f"CASE WHEN {PROBLEM} IS NULL THEN {_enum(trace)} END AS trace")
        elif col.name == "trace":
            parts.append(f"{_enum(trace)} AS trace")
        elif col.name in constants:
            parts.append(f"{_enum(constants[col.name])} AS {col.name}")
        elif col.name == "status" and col.name in available:
            parts.append("coalesce(CAST(status AS VARCHAR), 'unknown') AS status")
        elif col.name == "status":
            parts.append(f"{_enum('unknown')} AS status")
        elif col.name in available:
            parts.append(f"CAST({col.name} AS {duck}) AS {col.name}")
        else:
            parts.append(f"CAST(NULL AS {duck}) AS {col.name}")
    return ", ".join(parts)


def _kv_metadata(table: str, trace: str) -> str:
    items = {META_SCHEMA_VERSION: SCHEMA_VERSION, META_TABLE: table, META_TRACE: trace}
    return "{" + ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in items.items()) + "}"


def _poll(con: duckdb.DuckDBPyConnection, report: ProgressFn, stop: threading.Event) -> None:
    while not stop.wait(0.2):
        try:
            pct = con.query_progress()
        except duckdb.Error:
            return
        if pct >= 0:
            report(min(pct, 100.0) / 100.0)


def _guarded(reader: pa.RecordBatchReader, caught: list[TracesError]) -> pa.RecordBatchReader:
    """The reader, remembering a typed error it raises: DuckDB re-raises it as its own."""

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except TracesError as e:
            caught.append(e)
            raise

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def _duck_error(tq: TableQuery, e: duckdb.Error) -> DataError:
    files = ", ".join(str(f) for f in tq.files)
    text = str(e).splitlines()[0]
    if "No files found" in text:
        return DataError(
            f"{files}: not found where the query ran ({text}). On Spark, every executor must "
            "see the input files and the lake at the same absolute paths as this machine "
            "(a shared file system)."
        )
    if isinstance(e, duckdb.IOException) or "gzip" in text.lower():
        return CorruptFile(
            f"{files}: the file cannot be read to the end ({text}). It is probably truncated "
            "or not the compression its name says; download it again and check its sha256."
        )
    return DataError(f"{files}: DuckDB could not read the file ({text}).")


def run_query(
    con: duckdb.DuckDBPyConnection,
    tq: TableQuery,
    out_dir: Path,
    part: int,
    trace: str,
    report: ProgressFn | None = None,
) -> tuple[int, int]:
    """Write the query's rows under `out_dir` as part-<part>-<i>.parquet; return the rows
    written and the rows a checked scan flagged with `_problem` (not written: rejects)."""
    table = TABLES[tq.table]
    caught: list[TracesError] = []
    if tq.arrow is not None:
        con.register("arrow_input", _guarded(tq.arrow, caught))
    try:
        available = set(con.sql(tq.sql).columns)
        # A checked scan marks rows that stand for rejected lines with `_problem`. They are
        # written in the same pass, with a NULL trace, and counted from the files' footers;
        # only when there are some are the files written again without them. (Writing them
        # apart with PARTITION_BY (_problem) cost 1.5x the whole COPY, rejects or not.)
        flagged = PROBLEM in available
        cols = projection(table, available, tq.constants, trace, marked=flagged)
        select = f"SELECT {cols} FROM ({tq.sql})"
        layout = "PER_THREAD_OUTPUT true"
        tmp = out_dir / f"_q{part}"
        out_dir.mkdir(parents=True, exist_ok=True)
        stop = threading.Event()
        poller = None
        if report is not None:
            poller = threading.Thread(target=_poll, args=(con, report, stop), daemon=True)
            poller.start()
        try:
            result = con.execute(
                f"COPY ({select}) TO {sql_str(tmp)} (FORMAT parquet, {layout}, "
                f"COMPRESSION snappy, KV_METADATA {_kv_metadata(tq.table, trace)})"
            ).fetchall()
        finally:
            stop.set()
            if poller is not None:
                poller.join()
    except duckdb.Error as e:
        if caught:
            raise caught[0] from e
        raise _duck_error(tq, e) from e
    finally:
        if tq.arrow is not None:
            con.unregister("arrow_input")
    rows = int(result[0][0]) if result else 0
    marked = _null_traces(con, tmp) if flagged else 0
    good = _without_marked(con, tmp, tq.table, trace, rows - marked) if marked else tmp
    kept = 0
    for i, f in enumerate(sorted(good.glob("*.parquet"))):
        n = pq.read_metadata(f).num_rows
        if n:
            kept += n
            f.rename(out_dir / f"part-{part}-{i}.parquet")
    shutil.rmtree(tmp)
    if good != tmp:
        shutil.rmtree(good)
    return (kept, rows - kept) if flagged else (rows, 0)


def _null_traces(con: duckdb.DuckDBPyConnection, written: Path) -> int:
    """Rows with a NULL trace (rows marked as rejected) in the Parquet files under `written`:
    from the footers' null counts, or by reading the column when a footer lacks them."""
    files = sorted(written.glob("*.parquet"))
    total = 0
    for f in files:
        meta = pq.read_metadata(f)
        i = meta.schema.names.index("trace")
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(i).statistics
            if stats is None or not stats.has_null_count:
                scan = f"read_parquet({sql_str(glob_escape(written) + '/*.parquet')})"
                return int(
                    con.sql(f"SELECT count(*) FROM {scan} WHERE trace IS NULL").fetchall()[0][0]
                )
            total += stats.null_count
    return total


def _without_marked(
    con: duckdb.DuckDBPyConnection, written: Path, table: str, trace: str, expected: int
) -> Path:
    """The files under `written` again, without the rows marked as rejected (rare: only when
    a checked scan flagged some). Returns the folder of the new files."""
    clean = written.with_name(written.name + "_clean")
    scan = f"read_parquet({sql_str(glob_escape(written) + '/*.parquet')})"
    kept = con.execute(
        f"COPY (SELECT * FROM {scan} WHERE trace IS NOT NULL) TO {sql_str(clean)} "
        f"(FORMAT parquet, PER_THREAD_OUTPUT true, COMPRESSION snappy, "
        f"KV_METADATA {_kv_metadata(table, trace)})"
    ).fetchall()
    if int(kept[0][0]) != expected:  # the footers and the data disagree: trust neither
        raise DataError(
            f"{trace}: {expected} rows were to be kept after the rejected ones, but "
            f"{kept[0][0]} were; nothing was written. Please report this."
        )
    return clean


_VALUE = re.compile(r'string "(.*)" to')


def _slug_for(error_type: str, message: str) -> str:
    if error_type == "CAST":
        m = _VALUE.search(message)
        if m and m.group(1).lstrip().startswith("-") and "UBIGINT" in message:
            return "negative-count"
        return "unparsable-value"
    if error_type in ("TOO MANY COLUMNS", "MISSING COLUMNS"):
        return "wrong-column-count"
    return "malformed-line"


_TYPE_WORDS = {
    "UBIGINT": "a whole number >= 0",
    "BIGINT": "a whole number",
    "DOUBLE": "a number",
    "TIMESTAMP": "a timestamp",
    "TIMESTAMPTZ": "a timestamp",
    "TIMESTAMP WITH TIME ZONE": "a timestamp",
}


def _message(error_type: str, message: str, column: str | None) -> str:
    m = _VALUE.search(message)
    if error_type == "CAST" and m:
        target = message.rsplit(" to ", 1)[-1].strip("'\" .")
        return f"{column}: {m.group(1)!r} is not {_TYPE_WORDS.get(target, target)}"
    return message


def csv_rejects(con: duckdb.DuckDBPyConnection, name: str) -> list[Rejected]:
    """Lines DuckDB's CSV reader refused, one per line (the first problem on the line)."""
    rows = con.sql(
        f"""SELECT s.file_path, e.line, e.column_name, e.error_type,
                   left(e.csv_line, {RAW_LIMIT + 1}), e.error_message,
                   strpos(e.csv_line, chr(10)) > 0
            FROM {name} e JOIN {name}_scan s USING (scan_id, file_id)
            ORDER BY s.file_path, e.line, e.column_idx"""
    ).fetchall()
    out: list[Rejected] = []
    seen: set[tuple[str, int]] = set()
    for path, line, column, etype, raw, message, multiline in rows:
        if (path, line) in seen:
            continue
        seen.add((path, line))
        problem = _slug_for(etype, message)
        text = _message(etype, message, column)
        out.append(Rejected(path, int(line), problem, text, raw, column, multiline=bool(multiline)))
    con.sql(f"DROP TABLE IF EXISTS {name}; DROP TABLE IF EXISTS {name}_scan")
    return out


def enforce_invariants(
    con: duckdb.DuckDBPyConnection, table: str, trace: str, staged: Path, files: str
) -> list[Rejected]:
    """Move staged rows that break a schema rule out of the table; return them as rejects.

    Called only when `quality.profile` counted such rows: it rewrites the staged table."""
    parquet = sorted(staged.glob("*.parquet"))
    rules = INVARIANTS[table]
    if not parquet or not rules:
        return []
    scan = f"read_parquet({sql_str(glob_escape(staged) + '/*.parquet')})"
    case = " ".join(f"WHEN {pred} THEN {sql_str(slug)}" for slug, pred, _ in rules)
    flagged = f"SELECT *, CASE {case} END AS _problem FROM {scan}"
    rule_text = {slug: text for slug, _, text in rules}
    rejects = [
        Rejected(files, None, problem, f"breaks the rule: {rule_text[problem]}", raw)
        for problem, raw in con.sql(
            f"SELECT _problem, to_json(t)::VARCHAR FROM ({flagged}) t WHERE _problem IS NOT NULL"
        ).fetchall()
    ]
    clean = staged.parent / f"_{staged.name}_clean"
    con.sql(
        f"COPY (SELECT * EXCLUDE (_problem) FROM ({flagged}) WHERE _problem IS NULL) "
        f"TO {sql_str(clean)} (FORMAT parquet, PER_THREAD_OUTPUT true, COMPRESSION snappy, "
        f"KV_METADATA {_kv_metadata(table, trace)})"
    )
    shutil.rmtree(staged)
    clean.rename(staged)
    return rejects


def _excerpt(raw: str | None) -> str | None:
    if raw is None or len(raw) <= RAW_LIMIT:
        return raw
    return raw[:RAW_LIMIT] + f"... ({len(raw) - RAW_LIMIT} more characters)"


def write_rejected(rejects: list[Rejected], trace: str, table: str, out_dir: Path) -> None:
    if not rejects:
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "trace": [trace] * len(rejects),
        "table": [table] * len(rejects),
        "file": [r.file for r in rejects],
        "line": [r.line for r in rejects],
        "problem": [r.problem for r in rejects],
        "column": [r.column for r in rejects],
        "message": [bounded(r.message) for r in rejects],
        "raw": [_excerpt(r.raw) for r in rejects],
        "records": [r.records for r in rejects],
    }
    n = len(list(out_dir.glob("*.parquet")))
    pq.write_table(pa.table(data, schema=REJECTED_SCHEMA), out_dir / f"part-{n}.parquet")
