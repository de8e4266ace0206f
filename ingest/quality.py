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

from ingest.schema import INVARIANTS
from ingest.sources.base import glob_escape, sql_str

# Columns that identify a row, per table: two rows with the same key describe the same thing.
KEYS: dict[str, tuple[str, ...]] = {
    "jobs": ("job_id",),
    "series": ("entity", "metric", "ts"),
    "measurements": ("subject", "benchmark", "metric", "run", "ts", "extra"),
    # Context (day, iteration, window, batch size) often lives in extra: part of the key.
    "summaries": ("entity", "service", "tenant", "kind", "metric", "stat", "extra"),
    "cold_starts": ("pod_id", "ts"),
}
# Fields that say what a row is about. A row with none of them came from a line whose key
# fields were all empty (",,,,"): kept where the source requires none of them (it rejects
# such lines as missing-field where it does), and counted here so an analysis knows.
EMPTY_KEYS: dict[str, tuple[str, ...]] = {
    "requests": ("ts", "input_tokens", "output_tokens", "duration_s"),
    "jobs": ("job_id", "submit_ts", "start_ts", "end_ts"),
    "cold_starts": ("ts", "pod_id", "total_s"),
    "series": ("ts", "entity", "value"),
    "measurements": ("ts", "subject", "value"),
    "summaries": ("entity", "value"),
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
    return f"read_parquet({sql_str(glob_escape(staged) + '/*.parquet')})"


@dataclass(frozen=True)
class Profile:
    """What one scan of a staged table tells: size, time span, rule breakers, findings."""

    rows: int
    ts_min: str | None
    ts_max: str | None
    breaking_rows: int  # rows that break a schema invariant (to be moved to _rejected)
    findings: tuple[Finding, ...]


def profile(
    con: duckdb.DuckDBPyConnection, table: str, staged: Path, resolution_s: float | None
) -> Profile:
    """One pass over a staged table for everything ingest reports about it.

    A single scan matters: at 10M rows each extra pass over the staged Parquet costs about
    5% of the ingest.
    """
    if not any(staged.glob("*.parquet")):
        return Profile(0, None, None, 0, ())
    aggregates = {"rows": "count(*)"}
    ts = TIME_COLUMN.get(table)
    if ts:
        # ISO text, not datetimes: fetching TIMESTAMPTZ into Python would need pytz.
        iso = "'%Y-%m-%dT%H:%M:%S.%fZ'"
        aggregates["ts_min"] = f"strftime(min({ts}), {iso})"
        aggregates["ts_max"] = f"strftime(max({ts}), {iso})"
    rules = INVARIANTS[table]
    if rules:
        breaking = " OR ".join(f"coalesce({pred}, false)" for _, pred, _ in rules)
        aggregates["breaking"] = f"count(*) FILTER (WHERE {breaking})"
    key = KEYS.get(table)
    if key:
        cols = ", ".join(key)
        aggregates["duplicate"] = f"count(*) - count(DISTINCT ({cols}))"
        aggregates["missing"] = f"count(*) FILTER (WHERE {key[0]} IS NULL)"
    empty = EMPTY_KEYS.get(table)
    if empty:
        aggregates["empty"] = (
            "count(*) FILTER (WHERE " + " AND ".join(f"{c} IS NULL" for c in empty) + ")"
        )
    step = round(resolution_s * 1_000_000) if resolution_s and resolution_s >= 1e-3 else 0
    if ts and step:
        aggregates["off_grid"] = f"count(*) FILTER (WHERE epoch_us({ts}) % {step} <> 0)"
    select = ", ".join(f"{expr} AS {name}" for name, expr in aggregates.items())
    row = con.execute(f"SELECT {select} FROM {_scan(staged)}").fetchall()[0]
    got = dict(zip(aggregates, row or (), strict=True))
    findings = []
    if got.get("duplicate"):
        n = int(got["duplicate"])
        detail = f"{n:,} rows repeat a ({', '.join(key or ())}) key"
        findings.append(Finding("duplicate-key", table, n, detail))
    if got.get("missing"):
        n = int(got["missing"])
        findings.append(Finding("missing-key", table, n, f"{n:,} rows have no {(key or ('',))[0]}"))
    if got.get("empty"):
        n = int(got["empty"])
        detail = f"{n:,} rows have none of {', '.join(empty or ())}: their key fields were empty"
        findings.append(Finding("empty-key", table, n, detail))
    if got.get("off_grid"):
        n = int(got["off_grid"])
        detail = f"{n:,} {ts} values are not on the declared {resolution_s:g} s grid"
        findings.append(Finding("off-grid-timestamp", table, n, detail))
    return Profile(
        rows=int(got["rows"]),
        ts_min=got.get("ts_min"),
        ts_max=got.get("ts_max"),
        breaking_rows=int(got.get("breaking") or 0),
        findings=tuple(findings),
    )


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
        ).fetchall()[0]
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
