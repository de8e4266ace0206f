"""A staged table's profile read from its Parquet footers, when they settle every figure.

`quality.profile` scans the written table once for its row count, time span, rows that break
a schema rule and data-quality findings; at 10M rows that scan is about a tenth of an ingest.
Most of it is in the files' footers already: the row count and, per column and row group, the
NULL count and the least and greatest value. `footer_profile` answers from them alone when
they settle every figure, and returns None when they do not (the caller then scans):

- A rule of `schema.INVARIANTS` is an OR of tests on one column each, every one of them true
  on values outside an interval or a set: `x < 0`, `x IS NULL`, `NOT isfinite(x)`,
  `x NOT BETWEEN a AND b`, `abs(x) >= c`, `x NOT IN (...)`. Such a test holds on some row
  exactly when it holds at the column's least or greatest value, or on NULL where the column
  has one, so DuckDB evaluates it on those values only. A rule of any other shape, a test that
  holds there (some row may break the rule: the scan counts them), or a column whose bounds do
  not settle it, means None.
- The bounds are exact for whole numbers, booleans and times. A double's NaN is left out of
  them, so a double column settles a test only when it is all NULL; text only when it is all
  NULL or one value throughout (least = greatest).
- Findings over keys (duplicates) and off-grid timestamps need the values: None. `empty-key`
  rows (every EMPTY_KEYS column NULL) are 0 when one of those columns has no NULL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.quality import EMPTY_KEYS, KEYS, TIME_COLUMN, Profile
from ingest.schema import INVARIANTS, TABLES, TS
from ingest.sources.checks import FIRST_US, LAST_US, lit

_LITERAL = r"(?:[A-Z]+ )?'[^']*'|-?[0-9][0-9.e+-]*"
# Tests true outside an interval or a set, on column group 1 (see the module docstring).
_OUTSIDE = [
    re.compile(p)
    for p in (
        r"(\w+) < 0",
        r"(\w+) IS NULL",
        r"NOT isfinite\((\w+)\)",
        rf"(\w+) NOT BETWEEN (?:{_LITERAL}) AND (?:{_LITERAL})",
        r"abs\((\w+)\) >= [0-9][0-9.e+]*",
        r"(\w+) NOT IN \('[^']*'(?:, '[^']*')*\)",
    )
]
_EXACT_BOUNDS = (pa.int64(), pa.int32(), pa.bool_(), TS)
_SQL_TYPES = {pa.int64(): "BIGINT", pa.int32(): "INTEGER", pa.bool_(): "BOOLEAN"}


@dataclass
class _Column:
    """One column over every row group of the staged files."""

    type: pa.DataType
    values: int = 0  # non-NULL values
    nulls: int = 0
    low: Any = None
    high: Any = None
    known: bool = True  # False: a footer lacked what is needed

    def add(self, rows: int, stats: Any) -> None:
        if stats is None or not stats.has_null_count:
            self.known = False
            return
        self.nulls += stats.null_count
        n = rows - stats.null_count
        if not n:
            return
        if not stats.has_min_max:
            self.known = False
            return
        self.values += n
        low, high = stats.min_raw, stats.max_raw
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)

    def candidates(self) -> list[str] | None:
        """SQL literals of the values a test must be checked on; None if they cannot do."""
        if not self.known:
            return None
        out = ["NULL"] if self.nulls else []
        if not self.values:
            return out
        if self.type == TS:
            if self.low < FIRST_US or self.high > LAST_US:
                return None  # infinity, or out of the lake's years: let the scan count
            return out + [f"make_timestamptz({int(v)})" for v in (self.low, self.high)]
        if self.type in _EXACT_BOUNDS:
            return out + [f"CAST({v!r} AS {_SQL_TYPES[self.type]})" for v in (self.low, self.high)]
        # Short, so no writer cut it (writers that cut bounds cut them at 64 bytes or more).
        if self.type == pa.string() and self.low == self.high and len(self.low) < 64:
            return [*out, lit(bytes(self.low).decode("utf-8"))]
        return None


def _columns(table: str, files: list[Path]) -> tuple[int, dict[str, _Column]]:
    canonical = {c.name: c.type for c in TABLES[table].columns}
    rows = 0
    cols = {name: _Column(t) for name, t in canonical.items()}
    for f in files:
        meta = pq.read_metadata(f)
        rows += meta.num_rows
        schema = meta.schema.to_arrow_schema()
        for name, col in cols.items():
            i = schema.get_field_index(name)
            if i < 0 or schema.field(i).type != col.type or pa.types.is_nested(col.type):
                col.known = False
        paths = [meta.schema.column(j).path for j in range(meta.num_columns)]
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for j, path in enumerate(paths):
                col_ = cols.get(path)
                if col_ is not None and col_.known:
                    col_.add(group.num_rows, group.column(j).statistics)
    return rows, cols


def _breaks_nowhere(con: duckdb.DuckDBPyConnection, rule: str, cols: dict[str, _Column]) -> bool:
    """True when no row can break `rule`, by the module docstring's reasoning."""
    for test in rule.split(" OR "):
        m = next((p.fullmatch(test.strip()) for p in _OUTSIDE if p.fullmatch(test.strip())), None)
        col = cols.get(m.group(1)) if m else None
        values = col.candidates() if col is not None else None
        if m is None or values is None:
            return False
        if not values:
            continue  # no rows at all
        name = m.group(1)
        rows = ", ".join(f"({v})" for v in values)
        try:
            held = con.execute(
                f"SELECT bool_or(coalesce({test}, false)) FROM (VALUES {rows}) t({name})"
            ).fetchall()[0][0]
        except duckdb.Error:
            return False
        if held:
            return False
    return True


def footer_profile(
    con: duckdb.DuckDBPyConnection, table: str, staged: Path, resolution_s: float | None
) -> Profile | None:
    """`quality.profile` of a staged table from its footers alone, or None (module docstring)."""
    files = sorted(staged.glob("*.parquet"))
    if not files:
        return Profile(0, None, None, 0, ())
    ts = TIME_COLUMN.get(table)
    step = round(resolution_s * 1_000_000) if resolution_s and resolution_s >= 1e-3 else 0
    if KEYS.get(table) or (ts and step):
        return None
    rows, cols = _columns(table, files)
    if not all(_breaks_nowhere(con, rule, cols) for _, rule, _ in INVARIANTS[table]):
        return None
    empty = EMPTY_KEYS.get(table)
    if empty and not any(cols[c].known and cols[c].nulls == 0 for c in empty):
        return None
    span: tuple[str | None, str | None] = (None, None)
    if ts:
        col = cols[ts]
        if not col.known:
            return None
        if col.values:
            iso = "'%Y-%m-%dT%H:%M:%S.%fZ'"
            low, high = con.execute(
                f"SELECT strftime(make_timestamptz({int(col.low)}), {iso}), "
                f"strftime(make_timestamptz({int(col.high)}), {iso})"
            ).fetchall()[0]
            span = (low, high)
    return Profile(rows=rows, ts_min=span[0], ts_max=span[1], breaking_rows=0, findings=())
