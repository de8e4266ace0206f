"""Data-quality findings: what users of public traces keep tripping over, counted per ingest.

Findings are not rejections: the rows are valid and were written, but an analysis should know
(duplicate keys double-count jobs, unsorted timestamps break naive inter-arrival code,
timestamps off the declared grid mean the resolution claim is wrong). Each finding has a
stable slug, a count and one sentence; the manifest keeps them and `traces info` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.sources.base import sql_str

# Columns that identify a row, per table: two rows with the same key describe the same thing.
KEYS: dict[str, tuple[str, ...]] = {
    "jobs": ("job_id",),
    "series": ("entity", "metric", "ts"),
    "measurements": ("subject", "benchmark", "metric", "run", "ts", "extra"),
    # Context (day, iteration, window, batch size) often lives in extra: part of the key.
    "summaries": ("entity", "service", "tenant", "kind", "metric", "stat", "extra"),
    "cold_starts": ("pod_id", "ts"),
}
TIME_COLUMN = {
    "requests": "ts",
    "jobs": "submit_ts",
    "cold_starts": "ts",
    "series": "ts",
    "measurements": "ts",
}
ORDER_SAMPLE_ROWS = 100_000


@dataclass(frozen=True)
class Finding:
    slug: str
    table: str
    count: int
    detail: str


def _scan(staged: Path) -> str:
    return f"read_parquet({sql_str(staged / '*.parquet')})"


def table_findings(
    con: duckdb.DuckDBPyConnection, table: str, staged: Path, resolution_s: float | None
) -> list[Finding]:
    """Findings over one staged table: duplicate keys, missing key fields, off-grid times."""
    if not any(staged.glob("*.parquet")):
        return []
    out: list[Finding] = []
    scan = _scan(staged)
    key = KEYS.get(table)
    if key:
        cols = ", ".join(key)
        nulls = " OR ".join(f"{c} IS NULL" for c in key[:1])
        dup, missing = con.execute(
            f"SELECT count(*) - count(DISTINCT ({cols})), count(*) FILTER (WHERE {nulls}) "
            f"FROM {scan}"
        ).fetchone() or (0, 0)
        if dup:
            out.append(
                Finding("duplicate-key", table, int(dup), f"{dup:,} rows repeat a ({cols}) key")
            )
        if missing:
            out.append(
                Finding(
                    "missing-key", table, int(missing), f"{missing:,} rows lack part of ({cols})"
                )
            )
    ts = TIME_COLUMN.get(table)
    if ts and resolution_s and resolution_s >= 1e-3:
        step = round(resolution_s * 1_000_000)
        off = con.execute(
            f"SELECT count(*) FROM {scan} WHERE epoch_us({ts}) % {step} <> 0"
        ).fetchone()
        if off and off[0]:
            out.append(
                Finding(
                    "off-grid-timestamp",
                    table,
                    int(off[0]),
                    f"{off[0]:,} {ts} values are not on the declared {resolution_s:g} s grid",
                )
            )
    return out


def order_finding(
    con: duckdb.DuckDBPyConnection, table: str, select_sql: str, files: str
) -> Finding | None:
    """Timestamps that go backwards in file order, in the first rows of a query's input.

    Only a prefix is checked: file order survives only a single-threaded scan, and a second
    full pass over a large trace would double the cost of ingest for a warning.
    """
    ts = TIME_COLUMN.get(table)
    if not ts:
        return None
    con.execute("SET threads = 1")
    try:
        back, n = con.execute(
            f"SELECT count(*) FILTER (WHERE {ts} < prev), count(*) FROM ("
            f"SELECT {ts}, lag({ts}) OVER () AS prev FROM ("
            f"SELECT {ts} FROM ({select_sql}) LIMIT {ORDER_SAMPLE_ROWS}))"
        ).fetchone() or (0, 0)
    except duckdb.Error:
        return None  # a source whose query cannot be re-read cheaply (a consumed stream)
    finally:
        con.execute("RESET threads")
    if not back:
        return None
    return Finding(
        "non-monotonic-timestamp",
        table,
        int(back),
        f"{back:,} of the first {n:,} rows of {files} go back in time ({ts}); "
        "sort by time before computing inter-arrival times",
    )
