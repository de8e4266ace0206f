"""`ingest_paths`: files -> detected sources -> one staged, checked, committed trace each."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import duckdb

from ingest.detect import detect, looks_like_data
from ingest.errors import (
    CorruptFile,
    DataError,
    EmptyFile,
    NoInput,
    RecordsMismatch,
    TooManyRejected,
    TraceExists,
    TracesError,
    UnknownFormat,
    UsageError,
)
from ingest.footers import footer_profile
from ingest.lake import Lake, Stage
from ingest.names import check_trace_name, derive_trace_name
from ingest.problems import Rejected
from ingest.quality import Finding, Profile, profile
from ingest.records import FileScan, scan_file
from ingest.runner import LocalRunner, QueryOutcome, Runner, make_runner
from ingest.schema import SCHEMA_VERSION, TABLES
from ingest.sources import get_source
from ingest.sources.base import ReadContext, Source, TableQuery
from ingest.write import connect, enforce_invariants, write_rejected

DEFAULT_MAX_REJECTED = 0.01
WAIT_FOR_SCAN_BYTES = 64 << 20


class Progress(Protocol):
    """What ingest reports while it runs; the CLI draws it with rich."""

    def start(self, label: str, total_bytes: int) -> None: ...
    def update(self, done_bytes: int) -> None: ...
    def finish(self) -> None: ...


@dataclass(frozen=True)
class Plan:
    source: Source
    trace: str
    files: tuple[Path, ...]


@dataclass
class TraceResult:
    trace: str
    source: str
    files: tuple[Path, ...]
    tables: dict[str, int]
    rows_rejected: int
    problems: dict[str, int]
    ts_min: str | None
    ts_max: str | None
    seconds: float
    examples: list[str] = field(default_factory=list)
    quality: list[Finding] = field(default_factory=list)

    @property
    def rows_written(self) -> int:
        return sum(self.tables.values())


@dataclass
class IngestReport:
    results: list[TraceResult] = field(default_factory=list)
    failures: list[tuple[Plan, TracesError]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def tool_version() -> str:
    try:
        return metadata.version("workload-traces")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _expand(paths: Sequence[Path]) -> list[tuple[Path, bool]]:
    """Files to ingest, each flagged True when the user named it (not found in a folder)."""
    out: list[tuple[Path, bool]] = []
    for p in paths:
        if p.is_dir():
            inside = sorted(f for f in p.rglob("*") if f.is_file() and looks_like_data(f))
            out += [(f, False) for f in inside]
        elif p.is_file():
            out.append((p, True))
        else:
            raise NoInput(f"{p}: no such file or directory.")
    if not out:
        raise NoInput(f"No data files in {', '.join(str(p) for p in paths)}.")
    return out


def plan(
    paths: Sequence[Path], source: str | None = None, trace: str | None = None
) -> tuple[list[Plan], list[tuple[Path, str]]]:
    """Group files by (source, trace). Unrecognized files inside folders are skipped and
    listed; an unrecognized file named on the command line is an error."""
    if trace is not None:
        check_trace_name(trace)  # before anything touches the disk
    forced = get_source(source) if source else None
    groups: dict[tuple[str, str], list[Path]] = {}
    chosen: dict[str, Source] = {}
    skipped: list[tuple[Path, str]] = []
    for path, named in _expand(paths):
        try:
            src = forced or detect(path)
        except (UnknownFormat, EmptyFile) as e:
            if named:
                raise
            skipped.append((path, "empty" if isinstance(e, EmptyFile) else "no source matches"))
            continue
        name = trace or derive_trace_name(src.default_trace(path), src.name)
        chosen[src.name] = src
        groups.setdefault((src.name, name), []).append(path)
    if trace and len({s for s, _ in groups}) > 1:
        raise UsageError(
            f"--trace {trace} was given, but the files are of several sources "
            f"({', '.join(sorted({s for s, _ in groups}))}); a trace comes from one source. "
            "Ingest them separately, or drop --trace to use the default names."
        )
    plans = [Plan(chosen[s], t, tuple(files)) for (s, t), files in groups.items()]
    return plans, skipped


def held_files(lake: Lake, trace: str) -> set[str] | None:
    """The input files the lake's `trace` was last ingested from, as its manifest records
    them (resolved absolute paths); None when the lake does not hold the trace, or its
    manifest cannot say (unreadable: the fix the lake's other commands give is to re-ingest)."""
    path = lake.manifest_path(trace)
    if not path.is_file():
        return None
    try:
        files = json.loads(path.read_text()).get("files")
        return {str(f["path"]) for f in files}
    except (ValueError, AttributeError, TypeError, KeyError):
        return None


def check_replace(lake: Lake, p: Plan) -> None:
    """Refuse (TraceExists, before anything is written) to replace a trace the lake holds
    with data from other files: a generated `conv.csv` is detected as `azure_llm_2023_conv`,
    and would otherwise silently take the real trace's place.

    Files are compared as sets of resolved absolute paths, the way the manifest records them:
    the same folder ingested again from another working directory, through a relative path or
    a symlink, is the same files, and replaces the trace even if their contents changed (that
    is how a trace is refreshed). Another folder holding a file of the same name is not."""
    held = held_files(lake, p.trace)
    if held is None:
        return
    new = {str(f.resolve()) for f in p.files}
    if new == held:
        return
    raise TraceExists(
        f"{p.trace}: the lake at {lake.root} already holds this trace, from {_some(held)}. "
        f"This ingest reads other files ({_some(new)}) and would replace it, so the trace "
        "was refused; nothing of it was written. To add these files beside it, give them "
        "their own name: --trace NEW_NAME. To replace the trace with them, pass --replace."
    )


def _some(paths: set[str], n: int = 3) -> str:
    shown = sorted(paths)[:n]
    more = f" and {len(paths) - n} more" if len(paths) > n else ""
    return ", ".join(shown) + more


def _describe(rejects: list[Rejected], n: int = 5) -> list[str]:
    return [r.describe() for r in rejects[:n]]


def ingest_trace(
    lake: Lake,
    p: Plan,
    max_rejected: float = DEFAULT_MAX_REJECTED,
    progress: Progress | None = None,
    runner: Runner | None = None,
) -> TraceResult:
    """Read, check and write one trace; replace its old data only if everything succeeded.

    `runner` runs the source's queries (default: here, on DuckDB; `SparkRunner`: as Spark
    tasks); the checks, the rejected-row limit and the commit happen here either way."""
    started = time.perf_counter()
    total = sum(f.stat().st_size for f in p.files)
    stage = lake.stage(p.trace)
    own_runner = runner is None
    run = runner or LocalRunner()
    con = connect()
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        # Each file's checksum and independent record count are computed while the parser
        # runs (hashlib and zlib release the GIL): one more read of the file, from the cache.
        scans: dict[Path, Future[FileScan]] = {
            f: pool.submit(scan_file, f, p.source.record_rule(f)) for f in p.files
        }
        parsing = threading.Event()
        parsing.set()

        def stop_parser(done: Future[FileScan]) -> None:
            # A file no parser should be trusted with (a line of 100,000 fields takes
            # DuckDB minutes and GBs) is refused at once, not after the parser is through.
            if parsing.is_set() and done.exception() is None and done.result().problem:
                run.interrupt()

        for future in scans.values():
            future.add_done_callback(stop_parser)
        ctx = ReadContext()
        rejects: dict[str, list[Rejected]] = {}
        findings: list[Finding] = []
        if progress:
            progress.start(p.trace, total)
        try:
            outcomes = list(
                run.run(
                    _unless_unreadable(p, p.source.read(list(p.files), ctx), scans),
                    stage.table_dir,
                    p.trace,
                    ctx,
                    progress.update if progress else lambda done: None,
                )
            )
        except DataError as e:
            # The parser's word on a file a plain reader already found unreadable is the
            # less useful one: say what the plain reader saw, and where.
            refuse_unreadable(p, {f: s.result() for f, s in scans.items()}, cause=e)
            raise
        finally:
            parsing.clear()
        files_scanned = {f: s.result() for f, s in scans.items()}
        refuse_unreadable(p, files_scanned)
        check_records(p, outcomes, files_scanned)
        for outcome in sorted(outcomes, key=lambda o: o.part):
            rejects.setdefault(outcome.table, []).extend(outcome.rejects)
            findings += outcome.findings
        for r in ctx.rejected:
            rejects.setdefault(r.table or p.source.tables[0], []).append(r)
        files_text = ", ".join(str(f) for f in p.files)
        tables: dict[str, int] = {}
        span: list[Any] = []
        for table in TABLES:
            staged = stage.table_dir(table)
            if not staged.exists():
                continue
            prof = profile_table(con, table, staged, p.source.time_resolution_s)
            if prof.breaking_rows:  # rare: move them out, then describe what is left
                broken = enforce_invariants(con, table, p.trace, staged, files_text)
                rejects.setdefault(table, []).extend(broken)
                prof = profile_table(con, table, staged, p.source.time_resolution_s)
            tables[table] = prof.rows
            findings += prof.findings
            span += [v for v in (prof.ts_min, prof.ts_max) if v is not None]
        all_rejects = [r for rs in rejects.values() for r in rs]
        _check_rejected(p, tables, all_rejects, max_rejected, stage)
        for table, rs in rejects.items():
            write_rejected(rs, p.trace, table, stage.rejected_dir)
        result = TraceResult(
            trace=p.trace,
            source=p.source.name,
            files=p.files,
            tables={t: n for t, n in tables.items() if n},
            rows_rejected=sum(r.records for r in all_rejects),
            problems=dict(_problem_counts(all_rejects)),
            ts_min=min(span) if span else None,
            ts_max=max(span) if span else None,
            seconds=0.0,
            examples=_describe(all_rejects),
            quality=findings,
        )
        files_meta = [
            {
                "path": str(f.resolve()),
                "bytes": f.stat().st_size,
                "sha256": files_scanned[f].sha256,
                "records": files_scanned[f].records,
            }
            for f in p.files
        ]
        result.seconds = round(time.perf_counter() - started, 3)
        stage.commit(_manifest(p, result, files_meta, ctx.time_origin))
        return result
    except BaseException:
        stage.discard()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        con.close()
        if own_runner:
            run.close()
        if progress:
            progress.finish()


def profile_table(
    con: duckdb.DuckDBPyConnection, table: str, staged: Path, resolution_s: float | None
) -> Profile:
    """What ingest reports about a staged table: from the files' footers when they settle
    it (ingest/footers.py), else from one scan of the table (quality.profile)."""
    return footer_profile(con, table, staged, resolution_s) or profile(
        con, table, staged, resolution_s
    )


def _unless_unreadable(
    p: Plan, queries: Iterator[TableQuery], scans: dict[Path, Future[FileScan]]
) -> Iterator[TableQuery]:
    """The source's queries, stopping before one whose file is already known unreadable."""
    for tq in queries:
        # A small file's scan is waited for (milliseconds); a large one's runs beside the
        # parser, which it interrupts if it finds the file unreadable.
        done = {
            f: scans[f].result()
            for f in tq.files
            if f in scans and (scans[f].done() or f.stat().st_size < WAIT_FOR_SCAN_BYTES)
        }
        refuse_unreadable(p, done)
        yield tq


def _problem_counts(rejects: list[Rejected]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for r in rejects:
        counts[r.problem] += r.records
    return counts


def refuse_unreadable(
    p: Plan, scans: dict[Path, FileScan], cause: BaseException | None = None
) -> None:
    """DataError for the first file holding what no parser can be trusted with."""
    for f, scan in scans.items():
        if (
            scan.problem
            and scan.problem.startswith("a compressed")
            and cause is not None
            and "line " in str(cause)
        ):
            continue  # the reader saw the truncation too, and said where in its own words
        if scan.problem and scan.problem.startswith("a compressed"):
            raise CorruptFile(
                f"{f}: the file cannot be read to the end: the compressed stream ends after "
                f"line {scan.problem_line}. It is truncated: download it again and check its "
                "sha256 (`traces datasets` lists the checksums). Nothing was written; the lake "
                "is unchanged."
            ) from cause
        if scan.problem:
            raise CorruptFile(
                f"{f}, line {scan.problem_line}: {scan.problem}. The parser's result for this "
                "file cannot be trusted, so the trace was not written; the lake is unchanged. "
                + next(
                    (fix for what, fix in _UNREADABLE_FIX.items() if scan.problem.startswith(what)),
                    "Check the file.",
                )
            ) from cause


_UNREADABLE_FIX = {
    "a NUL byte": "Remove the binary bytes (e.g. `tr -d '\\000' < FILE > FIXED`) or get the "
    "file again and check its sha256.",
    "a carriage return that does not end a line": "Convert the line endings to LF "
    "(e.g. `tr '\\r' '\\n'` for old Mac files, or `dos2unix`).",
    "line endings that change": "Convert the file to one line ending (e.g. `dos2unix FILE`).",
    "a line of": "No trace format here has that many columns: remove or split that line.",
}


def check_records(p: Plan, outcomes: list[QueryOutcome], scans: dict[Path, FileScan]) -> None:
    """Every record of every file is written or rejected: the parser's rows and rejects add
    up to the independent count (ingest/records.py), or the trace is refused.

    A malformed line that swallowed the lines after it (an unterminated quote) is the one
    gap that can be explained: its reject then stands for those records too, and they count
    toward --max-rejected."""
    by_name = {str(f): scan for f, scan in scans.items()}
    for outcome in outcomes:
        if outcome.accounted is None:
            continue
        counts = [by_name[f].records for f in outcome.files if f in by_name]
        if not counts or any(c is None for c in counts):
            continue
        expected = sum(c for c in counts if c is not None)
        gap = expected - outcome.accounted
        if gap == 0:
            continue
        files = ", ".join(outcome.files[:3]) + (
            f" and {len(outcome.files) - 3} more file(s)" if len(outcome.files) > 3 else ""
        )
        swallower = next((r for r in outcome.rejects if r.multiline), None)
        if gap > 0 and swallower is not None and swallower.line is not None:
            i = outcome.rejects.index(swallower)
            outcome.rejects[i] = dataclasses.replace(
                swallower,
                records=1 + gap,
                message=f"{swallower.message}; the reader took the {gap} line(s) after it "
                f"(to line {swallower.line + gap}) as part of this one, so they are rejected "
                "with it",
            )
            continue
        raise RecordsMismatch(
            f"{files}: the file holds {expected} records, but the {p.source.name} reader "
            f"accounted for {outcome.accounted} (rows written plus rejected lines): "
            f"{abs(gap)} record(s) {'went missing' if gap > 0 else 'too many'}"
            f"{_first_reject_hint(outcome)}. Nothing was written; the lake is unchanged. "
            "Check the file for lines the format does not allow (quotes, stray line breaks) "
            "or pass --source NAME if it is another format; please report it if the file "
            "is a published trace as released."
        )


def _first_reject_hint(outcome: QueryOutcome) -> str:
    lines = [r.line for r in outcome.rejects if r.line is not None]
    return f"; the first rejected line is line {min(lines)}" if lines else ""


def _check_rejected(
    p: Plan, tables: dict[str, int], rejects: list[Rejected], limit: float, stage: Stage
) -> None:
    written = sum(tables.values())
    n_rejected = sum(r.records for r in rejects)
    read = written + n_rejected
    examples = "\n".join("  " + line for line in _describe(rejects))
    if written == 0:
        raise DataError(
            f"{p.trace}: no row of {', '.join(map(str, p.files))} could be read as "
            f"{p.source.name} ({p.source.expects}).\n{examples}\nNothing was written; the lake "
            "is unchanged. If this is another format, pass --source NAME (`traces sources`)."
        )
    if rejects and n_rejected / read > limit:
        raise TooManyRejected(
            f"{p.trace}: {n_rejected} of {read} rows rejected ({n_rejected / read:.1%}), "
            f"more than --max-rejected allows ({limit:.1%}). First problems:\n{examples}\n"
            "Nothing was written; the lake is unchanged. Fix the file, or raise --max-rejected "
            "(e.g. --max-rejected 1) to keep the good rows; rejected rows are then kept, with "
            "their reasons, in the lake's _rejected folder."
        )


def _manifest(
    p: Plan, r: TraceResult, files: list[dict[str, Any]], time_origin: str | None = None
) -> dict[str, Any]:
    return {
        "trace": p.trace,
        "source": p.source.name,
        "family": p.source.family,
        "fixture_only_source": p.source.fixture_only,
        "schema_version": SCHEMA_VERSION,
        "tool_version": tool_version(),
        "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "time_resolution_s": p.source.time_resolution_s,
        "time_origin": time_origin or p.source.time_origin,
        "files": files,
        "tables": r.tables,
        "rows_read": r.rows_written + r.rows_rejected,
        # The independent count of the input's records (ingest/records.py); None for files
        # whose records are not lines.
        "records": _total_records(files),
        "rows_written": r.rows_written,
        "rows_rejected": r.rows_rejected,
        "problems": r.problems,
        "quality": [dataclasses.asdict(f) for f in r.quality],
        "ts_min": r.ts_min,
        "ts_max": r.ts_max,
        "seconds": r.seconds,
    }


def _total_records(files: list[dict[str, Any]]) -> int | None:
    counts = [f["records"] for f in files]
    return None if any(c is None for c in counts) else sum(counts)


def ingest_paths(
    paths: Sequence[Path],
    lake_dir: Path,
    source: str | None = None,
    trace: str | None = None,
    max_rejected: float = DEFAULT_MAX_REJECTED,
    progress: Progress | None = None,
    engine: str = "duckdb",
    replace: bool = False,
) -> IngestReport:
    """Ingest files and folders into the lake at `lake_dir`, one trace at a time.

    `engine` runs each trace's queries here on DuckDB (`duckdb`) or as Spark tasks (`spark`,
    or a Spark Connect URL `sc://host:port`); see `ingest.runner`.

    A trace the lake already holds is replaced when this ingest reads the same files (by
    resolved absolute path; their contents may have changed), and refused (`TraceExists` in
    the report's failures, nothing written) when it reads other files, unless `replace`.

    A trace that fails leaves its old data in place and the others go on; the report lists
    what was written, what failed and why, and which files in folders were skipped.
    """
    if engine != "duckdb":
        # Spark tasks run elsewhere (another working directory, another machine): they must
        # be handed absolute paths, which a shared file system then resolves the same way.
        paths = [Path(p).resolve() for p in paths]
        lake_dir = Path(lake_dir).resolve()
    plans, skipped = plan(paths, source, trace)
    if not plans:
        raise NoInput(
            "No file in "
            + ", ".join(str(p) for p in paths)
            + " is a trace format this tool knows. `traces sources` lists them; "
            "pass --source NAME to read a file as a given format."
        )
    lake = Lake.open(lake_dir, create=True)
    report = IngestReport(skipped=skipped)
    todo: list[Plan] = []
    for p in plans:  # before any engine starts: the check is the same for every engine
        try:
            if not replace:
                check_replace(lake, p)
            todo.append(p)
        except TraceExists as e:
            report.failures.append((p, e))
    if not todo:
        return report
    runner = make_runner(engine)
    try:
        for p in todo:
            try:
                report.results.append(ingest_trace(lake, p, max_rejected, progress, runner))
            except DataError as e:
                report.failures.append((p, e))
    finally:
        runner.close()
    return report
