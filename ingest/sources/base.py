"""What a source is, and the small helpers every source module shares.

A source is one module that knows one public trace format: `sniff` recognizes it from the first
bytes of a file, `read` turns files into `TableQuery`s (DuckDB SQL, or an Arrow stream, producing
canonical columns). The lake does all writing, checking and bookkeeping, so a source never
touches the disk.
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ingest.errors import CorruptFile, EmptyFile, MissingColumns
from ingest.problems import Rejected
from ingest.records import RecordRule

if TYPE_CHECKING:
    from ingest.sources.checks import Check, RowChecks

HEAD_BYTES = 64 * 1024

FAMILIES = ("llm_serving", "serverless", "datacenter", "vm_interference")


@dataclass
class TableQuery:
    """Rows for one canonical table, as a DuckDB query the lake runs and writes.

    `sql` selects canonical column names (any subset, any order; the lake fills the rest with
    NULL and casts to the schema). It may read `arrow_input` when `arrow` is given. `constants`
    are per-trace string columns (kind, status) that the lake writes without materializing
    them row by row. `rejects` names the DuckDB rejects table the query's `read_csv` fills.
    `in_file_order` asks for the non-monotonic-timestamp check.
    """

    table: str
    sql: str
    files: tuple[Path, ...]
    constants: dict[str, str] = field(default_factory=dict)
    arrow: pa.RecordBatchReader | None = None
    rejects: str | None = None
    # True when rows come out in file order, one per input line: then timestamps going back
    # in time are a property of the file worth reporting (not of a reshaping query).
    in_file_order: bool = False
    # How this query accounts for the records of its files (see ingest/records.py):
    # "rows": one row written or rejected per record; "scan": the query reshapes, so the
    # records its reader parsed are counted with `count_scan`, a read_csv of the same files
    # (all text, its own rejects table); "none": another query of the trace accounts for
    # these files, or their records are not lines (the source says why).
    accounting: str = "rows"
    count_scan: str | None = None
    # The per-row rules of a checked scan (ingest/sources/checks.py). When the query selects
    # `_problem`, its non-NULL rows stand for rejected input lines: the lake drops them, and
    # `checks.locate` names those lines (with `checks.relabel` for the reader's own rejects).
    checks: RowChecks | None = None


class ReadContext:
    """Handed to `Source.read`: collects rows a source rejects itself, names rejects tables."""

    def __init__(self) -> None:
        self.rejected: list[Rejected] = []
        self.rejected_count = 0
        self._n = 0
        # A source whose files decide it (an SWF log without UnixStartTime) sets the trace's
        # time origin here; otherwise the Source's own holds.
        self.time_origin: str | None = None

    def reject(self, row: Rejected) -> None:
        self.rejected_count += 1
        # Keep every rejected row for the lake; the count above is what summaries use.
        self.rejected.append(row)

    def rejects_table(self) -> str:
        self._n += 1
        return f"rejects_{self._n}"


@dataclass(frozen=True)
class Source:
    name: str
    family: str
    tables: tuple[str, ...]
    description: str
    citation: str
    expects: str  # the format in words, for "this is not a ... file" messages
    time_resolution_s: float | None
    time_origin: str  # "absolute", "relative" (anchored at 1970-01-01 UTC), or "none"
    sniff: Callable[[bytes, str], bool]
    read: Callable[[Sequence[Path], ReadContext], Iterator[TableQuery]]
    trace_name: Callable[[Path], str] | None = None
    # What a record of the source's files is, for the independent count (ingest/records.py);
    # a function when it depends on the file. None only where records are not lines.
    records: RecordRule | Callable[[Path], RecordRule | None] | None = None
    columns: tuple[str, ...] = ()  # CSV header columns it needs; used to suggest near misses
    fixture_only: bool = False  # no real rows available here: tested on a schema fixture

    def default_trace(self, path: Path) -> str:
        return self.trace_name(path) if self.trace_name else self.name

    def record_rule(self, path: Path) -> RecordRule | None:
        return self.records(path) if callable(self.records) else self.records


# ---------------------------------------------------------------- reading helpers


def is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _gzip_head(path: Path, n: int) -> bytes:
    """Up to `n` decompressed bytes (over concatenated members too). A stream cut short gives
    what came before the cut: the independent record count then names the line where the
    file ends early, which a failure here could not."""
    out = b""
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
    with path.open("rb") as f:
        pending = f.read(HEAD_BYTES)
        while len(out) < n and pending:
            try:
                out += inflate.decompress(pending, n - len(out))
            except zlib.error:
                if out:
                    break
                raise
            if inflate.eof:  # the next member, if any
                pending = inflate.unused_data
                inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
            else:
                pending = inflate.unconsumed_tail or f.read(HEAD_BYTES)
        if not out and not inflate.eof and not pending and path.stat().st_size > 20:
            raise EOFError("the compressed stream ends before any data")
    return out


def read_head(path: Path, n: int = HEAD_BYTES) -> bytes:
    """The first `n` bytes of a file, decompressed if it is gzip."""
    try:
        if is_gzip(path):
            return _gzip_head(path, n)
        with path.open("rb") as f:
            return f.read(n)
    except (EOFError, OSError, zlib.error) as e:
        raise CorruptFile(
            f"{path}: cannot read the start of the file ({e}). It looks damaged or truncated; "
            "download it again and check its sha256 (`traces datasets` lists the checksums)."
        ) from e


def head_lines(head: bytes, n: int = 2) -> list[str]:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    return text.splitlines()[:n]


def csv_header(head: bytes, delimiter: str = ",") -> list[str]:
    lines = head_lines(head, 1)
    if not lines:
        return []
    return [c.strip() for c in next(csv.reader(io.StringIO(lines[0]), delimiter=delimiter))]


def header_has(head: bytes, required: Sequence[str]) -> bool:
    cols = set(csv_header(head))
    return all(r in cols for r in required)


def require_columns(path: Path, expects: str, required: Sequence[str], source: str) -> list[str]:
    """The file's CSV header, or MissingColumns/EmptyFile naming what is absent."""
    head = read_head(path)
    if not head.strip():
        raise EmptyFile(f"{path}: the file is empty; expected {expects}.")
    header = csv_header(head)
    missing = [c for c in required if c not in header]
    if missing:
        raise MissingColumns(
            f"{path}, line 1: missing column(s) {', '.join(missing)} for source '{source}'. "
            f"Found: {', '.join(header[:12]) or '(nothing)'}. Expected {expects}. "
            "If this file is another format, pass --source NAME (see `traces sources`)."
        )
    if len(head_lines(head, 2)) < 2:
        raise EmptyFile(f"{path}: the file has a header but no data rows; expected {expects}.")
    return header


def require_fields(
    path: Path, n_fields: int, expects: str, source: str, delimiter: str = ","
) -> None:
    """For header-less files: MissingColumns/EmptyFile unless line 1 has `n_fields` fields."""
    head = read_head(path)
    if not head.strip():
        raise EmptyFile(f"{path}: the file is empty; expected {expects}.")
    first = head_lines(head, 1)[0]
    found = len(first.split(delimiter))
    if found != n_fields:
        raise MissingColumns(
            f"{path}, line 1: {found} field(s) where source '{source}' needs {n_fields}. "
            f"It starts with {first[:80]!r}. Expected {expects}. "
            "If this file is another format, pass --source NAME (see `traces sources`)."
        )


def sql_str(value: str | Path) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def glob_escape(path: str | Path) -> str:
    """`path` with DuckDB's glob characters bracketed, so that it names exactly one file:
    DuckDB's readers take every path as a pattern, and `a[1].csv` would read `a1.csv`."""
    return "".join(f"[{c}]" if c in "[*?" else c for c in str(path))


def sql_path(path: str | Path) -> str:
    """A file name as a DuckDB reader's argument: a literal name, never a pattern."""
    return sql_str(glob_escape(path))


def csv_scan(
    paths: Path | Sequence[Path],
    columns: Sequence[str],
    types: dict[str, str],
    rejects: str,
    header: bool = True,
    **options: str,
) -> str:
    """A `read_csv` call with declared types whose bad lines land in a rejects table.

    `columns` are the file's columns in file order (DuckDB binds them by position: pass the
    header for files that have one, the documented names for header-less files); columns
    absent from `types` are read as text. Declaring types in the reader, not casting later,
    keeps ingest near raw DuckDB speed, and the rejects table gives the line number and text
    of every line that fails. `options` are extra read_csv options as SQL (e.g. delim="';'").
    """
    files = [paths] if isinstance(paths, Path) else list(paths)
    file_list = "[" + ", ".join(sql_path(f) for f in files) + "]"
    cols = ", ".join(f"{sql_str(c)}: {sql_str(types.get(c, 'VARCHAR'))}" for c in columns)
    extra = "".join(f", {k}={v}" for k, v in options.items())
    if "compression" not in options and files and all(is_gzip(f) for f in files):
        # Said, not guessed from the name: an escaped name no longer ends in .gz for DuckDB.
        extra += ", compression='gzip'"
    return (
        f"read_csv({file_list}, header={'true' if header else 'false'}, columns={{{cols}}}, "
        f"store_rejects=true, rejects_table={sql_str(rejects)}, "
        f"rejects_scan={sql_str(rejects + '_scan')}, auto_detect=false{extra})"
    )


def csv_queries(
    paths: Sequence[Path],
    ctx: ReadContext,
    *,
    source: str,
    expects: str,
    required: Sequence[str],
    types: dict[str, str],
    table: str,
    select: Callable[[list[str], str], str],
    constants: dict[str, str] | Callable[[Path], dict[str, str]] | None = None,
    in_file_order: bool = False,
    reshapes: bool = False,
    keys: Sequence[str] = (),
    checks: Sequence[Check] = (),
) -> Iterator[TableQuery]:
    """One TableQuery per CSV file with a header: the shape most sources have.

    `select(header, scan)` returns the SELECT over `scan`, the checked read of the file
    (`checks.checked_scan`: `types` may say WHOLE or SIGNED, and the relation has `_problem`,
    which the SELECT passes on); the header is passed for sources whose columns vary between
    releases. `keys` are fields no row may leave empty, `checks` the source's own row rules.
    `constants` may depend on the file (a cluster named by the file's folder, say).
    `reshapes`: the SELECT does not give one row per line (it groups, unpivots or filters).
    """
    # Imported here: checks.py builds on this module's helpers.
    from ingest.sources.checks import checked_scan

    for path in paths:
        header = require_columns(path, expects, required, source)
        rejects = ctx.rejects_table()
        present = [k for k in keys if k in header]
        mine = [c for c in checks if c.column in header]
        scan, spec = checked_scan(path, header, types, rejects, required=present, checks=mine)
        yield TableQuery(
            table=table,
            sql=select(header, scan),
            files=(path,),
            constants=constants(path) if callable(constants) else dict(constants or {}),
            rejects=rejects,
            in_file_order=in_file_order,
            checks=spec,
            **(reshaping(path, header, rejects) if reshapes else {}),
        )


def reshaping(
    paths: Path | Sequence[Path],
    columns: Sequence[str],
    rejects: str,
    header: bool = True,
    **options: str,
) -> dict[str, Any]:
    """TableQuery arguments for a query that is not one row per line: its records are
    counted by reading the same files again as text (`accounting="scan"`)."""
    scan = csv_scan(paths, columns, {}, rejects + "_count", header, **options)
    return {"accounting": "scan", "count_scan": scan}


def stem(path: Path) -> str:
    """File name without .gz and the format extension."""
    name = path.name
    for ext in (".gz", ".csv", ".jsonl", ".json", ".swf", ".txt"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    return name


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
