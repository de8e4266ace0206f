"""`ingest_paths`: files -> detected sources -> one staged, checked, committed trace each."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from ingest.detect import detect, looks_like_data
from ingest.errors import (
    DataError,
    EmptyFile,
    NoInput,
    TooManyRejected,
    TracesError,
    UnknownFormat,
    UsageError,
)
from ingest.lake import Lake, Stage
from ingest.problems import Rejected
from ingest.quality import Finding, profile
from ingest.runner import LocalRunner, Runner, SparkRunner, make_runner, sha256
from ingest.schema import SCHEMA_VERSION, TABLES
from ingest.sources import get_source
from ingest.sources.base import ReadContext, Source
from ingest.write import connect, enforce_invariants, write_rejected

DEFAULT_MAX_REJECTED = 0.01


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
        name = trace or src.default_trace(path)
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
        # Checksums are computed while DuckDB parses (hashlib releases the GIL), or by the
        # Spark task that reads the file, where the file is.
        futures: dict[Path, Future[str]] = (
            {} if isinstance(run, SparkRunner) else {f: pool.submit(sha256, f) for f in p.files}
        )
        ctx = ReadContext()
        rejects: dict[str, list[Rejected]] = {}
        findings: list[Finding] = []
        sums: dict[str, str] = {}
        if progress:
            progress.start(p.trace, total)
        outcomes = list(
            run.run(
                p.source.read(list(p.files), ctx),
                stage.table_dir,
                p.trace,
                ctx,
                progress.update if progress else lambda done: None,
            )
        )
        for outcome in sorted(outcomes, key=lambda o: o.part):
            rejects.setdefault(outcome.table, []).extend(outcome.rejects)
            findings += outcome.findings
            sums.update(outcome.sha256)
        for r in ctx.rejected:
            rejects.setdefault(r.table or p.source.tables[0], []).append(r)
        files_text = ", ".join(str(f) for f in p.files)
        tables: dict[str, int] = {}
        span: list[Any] = []
        for table in TABLES:
            staged = stage.table_dir(table)
            if not staged.exists():
                continue
            prof = profile(con, table, staged, p.source.time_resolution_s)
            if prof.breaking_rows:  # rare: move them out, then describe what is left
                broken = enforce_invariants(con, table, p.trace, staged, files_text)
                rejects.setdefault(table, []).extend(broken)
                prof = profile(con, table, staged, p.source.time_resolution_s)
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
            rows_rejected=len(all_rejects),
            problems=dict(Counter(r.problem for r in all_rejects)),
            ts_min=min(span) if span else None,
            ts_max=max(span) if span else None,
            seconds=0.0,
            examples=_describe(all_rejects),
            quality=findings,
        )

        def checksum(f: Path) -> str:
            if str(f) in sums:
                return sums[str(f)]
            return futures[f].result() if f in futures else sha256(f)

        files_meta = [
            {"path": str(f.resolve()), "bytes": f.stat().st_size, "sha256": checksum(f)}
            for f in p.files
        ]
        result.seconds = round(time.perf_counter() - started, 3)
        stage.commit(_manifest(p, result, files_meta))
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


def _check_rejected(
    p: Plan, tables: dict[str, int], rejects: list[Rejected], limit: float, stage: Stage
) -> None:
    written = sum(tables.values())
    read = written + len(rejects)
    examples = "\n".join("  " + line for line in _describe(rejects))
    if written == 0:
        raise DataError(
            f"{p.trace}: no row of {', '.join(map(str, p.files))} could be read as "
            f"{p.source.name} ({p.source.expects}).\n{examples}\nNothing was written; the lake "
            "is unchanged. If this is another format, pass --source NAME (`traces sources`)."
        )
    if rejects and len(rejects) / read > limit:
        raise TooManyRejected(
            f"{p.trace}: {len(rejects)} of {read} rows rejected ({len(rejects) / read:.1%}), "
            f"more than --max-rejected allows ({limit:.1%}). First problems:\n{examples}\n"
            "Nothing was written; the lake is unchanged. Fix the file, or raise --max-rejected "
            "(e.g. --max-rejected 1) to keep the good rows; rejected rows are then kept, with "
            "their reasons, in the lake's _rejected folder."
        )


def _manifest(p: Plan, r: TraceResult, files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "trace": p.trace,
        "source": p.source.name,
        "family": p.source.family,
        "fixture_only_source": p.source.fixture_only,
        "schema_version": SCHEMA_VERSION,
        "tool_version": tool_version(),
        "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "time_resolution_s": p.source.time_resolution_s,
        "time_origin": p.source.time_origin,
        "files": files,
        "tables": r.tables,
        "rows_read": r.rows_written + r.rows_rejected,
        "rows_written": r.rows_written,
        "rows_rejected": r.rows_rejected,
        "problems": r.problems,
        "quality": [dataclasses.asdict(f) for f in r.quality],
        "ts_min": r.ts_min,
        "ts_max": r.ts_max,
        "seconds": r.seconds,
    }


def ingest_paths(
    paths: Sequence[Path],
    lake_dir: Path,
    source: str | None = None,
    trace: str | None = None,
    max_rejected: float = DEFAULT_MAX_REJECTED,
    progress: Progress | None = None,
    engine: str = "duckdb",
) -> IngestReport:
    """Ingest files and folders into the lake at `lake_dir`, one trace at a time.

    `engine` runs each trace's queries here on DuckDB (`duckdb`) or as Spark tasks (`spark`,
    or a Spark Connect URL `sc://host:port`); see `ingest.runner`.

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
    runner = make_runner(engine)
    try:
        for p in plans:
            try:
                report.results.append(ingest_trace(lake, p, max_rejected, progress, runner))
            except DataError as e:
                report.failures.append((p, e))
    finally:
        runner.close()
    return report
