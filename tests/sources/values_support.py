"""Run a source's queries straight on DuckDB, the way the lake does, without a lake.

What the tests of "values are kept or rejected, never changed" need to see: the rows a source
keeps (with `_problem` NULL) exactly as its query produced them, and every rejected line with
its line number and slug, whether the CSV reader refused it (the rejects table) or a row rule
did (`RowChecks.locate`), or the source's own Python reader did (`ReadContext`).
"""

from __future__ import annotations

import csv
import gzip
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.problems import Rejected
from ingest.sources.base import ReadContext, Source, is_gzip
from ingest.sources.checks import PROBLEM
from ingest.write import connect, csv_rejects


@dataclass
class Read:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # table -> kept rows
    rejected: list[Rejected] = field(default_factory=list)
    flagged: int = 0  # output rows marked with `_problem`

    def lines(self) -> list[tuple[int | None, str]]:
        """(line, slug) of every reject, in line order."""
        return sorted(((r.line, r.problem) for r in self.rejected), key=lambda x: x[0] or 0)


def read_checked(source: Source, files: Sequence[Path]) -> Read:
    """Every query of `source` over `files`: kept rows per table, and every rejected line."""
    con = connect()
    ctx = ReadContext()
    out = Read()
    try:
        for tq in source.read(list(files), ctx):
            if tq.arrow is not None:
                con.register("arrow_input", tq.arrow)
            rel = con.sql(tq.sql)
            cols = rel.columns
            rows = [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]
            if tq.arrow is not None:
                con.unregister("arrow_input")
            flagged = [r for r in rows if r.get(PROBLEM) is not None]
            kept = [
                {k: v for k, v in r.items() if k != PROBLEM} for r in rows if r.get(PROBLEM) is None
            ]
            out.rows.setdefault(tq.table, []).extend(kept)
            out.flagged += len(flagged)
            reader = csv_rejects(con, tq.rejects) if tq.rejects else []
            if tq.checks is not None:
                reader = tq.checks.relabel(reader)
            out.rejected += reader
            if flagged:
                assert tq.checks is not None, "a query flags rows but cannot locate them"
                seen = {(r.file, r.line) for r in reader if r.line is not None}
                out.rejected += tq.checks.locate(con, skip=seen)
        out.rejected += ctx.rejected
    finally:
        con.close()
    return out


def lines_of(path: Path, n: int | None = None) -> list[str]:
    """The first `n` lines of a (possibly gzip) text file, line ends kept."""
    opener: Any = gzip.open if is_gzip(path) else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        return list(itertools.islice(f, n))


def write_lines(path: Path, lines: Sequence[str], bom: bool = False) -> Path:
    """`lines` into `path` (gzip when the name says so), with a UTF-8 byte-order mark first."""
    data = "".join(lines).encode()
    if bom:
        data = b"\xef\xbb\xbf" + data
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def csv_fields(line: str) -> list[str]:
    return next(csv.reader([line]))


def bag(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    """Rows per table in a fixed order: grouping and unpivoting queries give no row order."""
    return {t: sorted(repr(sorted(r.items())) for r in rs) for t, rs in rows.items()}
