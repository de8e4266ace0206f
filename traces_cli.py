"""The `traces` command. Thin: every command calls one package function and prints its result.

Typed errors from the packages become one short paragraph and an exit code (1 for bad data,
2 for bad usage); `--debug` shows the traceback instead.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from ingest.errors import TracesError, UsageError
from ingest.lake import MARKER, Lake, default_lake_path, is_uri, open_lake
from ingest.pipeline import DEFAULT_MAX_REJECTED, IngestReport, ingest_paths
from ingest.schema import docs_markdown
from ingest.sources import SOURCES
from ingest.sources.base import glob_escape, sql_str

app = typer.Typer(
    help="Normalize public workload traces into one Parquet lake and characterize them.\n\n"
    "Start with:  traces ingest ../shared/traces/llm_serving  then  traces info",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
# soft_wrap: messages name files and lines; hard wrapping would split them mid-path (tables
# still fit the terminal's width).
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

LakeOption = Annotated[
    Path | None,
    typer.Option(
        "--lake",
        help="Lake directory. Default: $TRACES_LAKE, else ./lake.",
        show_default=False,
    ),
]
ReadLakeOption = Annotated[
    str | None,
    typer.Option(
        "--lake",
        help="Lake directory, or a lake copied to object storage (s3://bucket/lake, gs://..., "
        "hdfs://...). Default: $TRACES_LAKE, else ./lake.",
        show_default=False,
    ),
]

EngineOption = Annotated[
    str,
    typer.Option(
        "--engine",
        "-e",
        help="duckdb (embedded, default); spark (local[2], spark-submit's master, or the Spark "
        "Connect URL in $TRACES_SPARK_REMOTE; needs the spark extra); or a Spark Connect URL "
        "sc://host:15002.",
    ),
]


def _engine(engine: str) -> str:
    if engine not in ("duckdb", "spark") and not engine.startswith("sc://"):
        raise typer.BadParameter(
            "use one of duckdb, spark or a Spark Connect URL sc://host:port",
            param_hint="--engine",
        )
    return engine


def _lake(path: Path | None) -> Path:
    """A local lake directory. Object-store URIs (which a Path folds to `s3:/...`) are for the
    commands that read in place (report, info): say so rather than make a folder `s3:`."""
    lake = path if path is not None else default_lake_path()
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", str(lake)):  # not C:/ on Windows
        raise typer.BadParameter(
            f"{lake}: this command needs a local lake directory. `traces report` and `traces "
            "info` read a lake in object storage in place; to ingest, write a local lake and "
            "copy it up (aws s3 sync lake s3://bucket/lake).",
            param_hint="--lake",
        )
    return lake


def _read_lake(location: str | None) -> Path | str:
    """A lake to read: a local path, or an object-store URI kept as text (a Path would fold
    its '//')."""
    location = location or os.environ.get("TRACES_LAKE")
    if location and is_uri(location):
        return location
    return _existing_lake(Path(location) if location else default_lake_path())


def _existing_lake(lake: Path) -> Path:
    """A local lake every command but ingest needs to exist: none there is a usage error (exit
    2). A file, or a folder of other files, is left for `Lake.open` to explain."""
    if (lake / MARKER).is_file() or lake.is_file() or (lake.is_dir() and any(lake.iterdir())):
        return lake
    raise UsageError(
        f"No lake at {lake}. Ingest something first: `traces ingest PATH --lake {lake}`, or "
        "pass --lake with an existing lake (default: $TRACES_LAKE, else ./lake)."
    )


def _require_traces(lake: Path | str, names: Sequence[str]) -> None:
    """Trace names given on the command line must be in the lake (exit 2 with the list)."""
    if not names:
        return
    known = sorted(str(m.get("trace")) for m in open_lake(lake).manifests())
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UsageError(
                f"No trace named {name!r} in the lake at {lake}.{hint} Traces: "
                f"{', '.join(known) or 'none'}."
            )


class RichProgress:
    """Draws ingest progress (bytes of input read) on stderr."""

    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._task: TaskID | None = None

    def start(self, label: str, total_bytes: int) -> None:
        if not err.is_terminal:  # no live bar in logs and CI; the summary says it all
            return
        self._bar.start()
        self._task = self._bar.add_task(label, total=total_bytes)

    def update(self, done_bytes: int) -> None:
        if self._task is not None:
            self._bar.update(self._task, completed=done_bytes)

    def finish(self) -> None:
        if self._task is not None:
            self._bar.remove_task(self._task)
            self._task = None
            self._bar.stop()


def _span(lo: str | None, hi: str | None, relative: bool = False) -> str:
    """'2023-11-16 18:15 +59m': start and length, short enough for an 80-column terminal."""
    if not lo or not hi:
        return "-"
    start, end = datetime.fromisoformat(lo), datetime.fromisoformat(hi)
    secs = (end - start).total_seconds()
    if secs >= 2 * 86400:
        length, begin = f"{secs / 86400:.1f}d", f"{start:%Y-%m-%d}"
    else:
        length = (
            f"{secs / 3600:.1f}h"
            if secs >= 2 * 3600
            else (f"{secs / 60:.0f}m" if secs >= 120 else f"{secs:.0f}s")
        )
        begin = f"{start:%Y-%m-%d %H:%M}"
    return f"relative {length}" if relative else f"{begin} +{length}"


def _trace_table(title: str, rows: list[dict[str, Any]], resolution: bool) -> Table:
    """One line per trace and table; the rejected column only when something was rejected."""
    rejected = any(r["rejected"] for r in rows)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    # Names never truncate; the span column gives way on narrow terminals.
    widest_trace = max(len(r["trace"]) for r in rows)
    widest_table = max(len(t) for r in rows for t in r["tables"])
    table.add_column("trace", no_wrap=True, min_width=widest_trace)
    table.add_column("table", no_wrap=True, min_width=widest_table)
    table.add_column("rows", justify="right", no_wrap=True)
    if rejected:
        table.add_column("rejected", justify="right", no_wrap=True)
    table.add_column("span (UTC)" + (" (resolution)" if resolution else ""), overflow="fold")
    for r in rows:
        for i, (name, n) in enumerate(r["tables"].items()):
            first = i == 0
            cells = [r["trace"] if first else "", name, f"{n:,}"]
            if rejected:
                cells.append(f"{r['rejected']:,}" if first else "")
            span = _span(r["ts_min"], r["ts_max"], r["relative"])
            if resolution and r["resolution"]:
                span += f" ({_resolution(r['resolution'])})"
            cells.append(span if first else "")
            table.add_row(*cells)
    return table


def _resolution(seconds: float | None) -> str:
    if not seconds:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1), ("ms", 1e-3)):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    return f"{seconds * 1e6:g}µs"


def _print_report(report: IngestReport, lake: Path) -> None:
    if report.results:
        seconds = sum(r.seconds for r in report.results)
        lines = [
            {
                "trace": r.trace,
                "tables": r.tables,
                "rejected": r.rows_rejected,
                "ts_min": r.ts_min,
                "ts_max": r.ts_max,
                "relative": SOURCES[r.source].time_origin == "relative",
                "resolution": None,
            }
            for r in report.results
        ]
        title = f"Ingested {len(lines)} trace(s) into {lake} in {seconds:.1f} s"
        out.print(_trace_table(title, lines, resolution=False))
        for r in report.results:
            if r.rows_rejected:
                probs = ", ".join(f"{k} {v:,}" for k, v in sorted(r.problems.items()))
                rows = "row" if r.rows_rejected == 1 else "rows"
                out.print(
                    f"[yellow]{r.trace}[/]: {r.rows_rejected:,} {rows} rejected ({probs}); "
                    f"kept with reasons in {lake}/_rejected/trace={r.trace}. First:"
                )
                for line in r.examples[:3]:
                    out.print(f"  {line}", markup=False, highlight=False)
    for r in report.results:
        for f in r.quality:
            out.print(f"[yellow]{r.trace}[/] {f.table}: {f.slug}: {f.detail}", soft_wrap=True)
    if report.skipped:
        names = ", ".join(p.name for p, _ in report.skipped[:6])
        more = f" and {len(report.skipped) - 6} more" if len(report.skipped) > 6 else ""
        out.print(
            f"Skipped {len(report.skipped)} file(s) in folders that no source reads "
            f"({names}{more}). Pass --source NAME to read a file as a given format."
        )
    for _, e in report.failures:
        err.print("[red]Failed:[/] ", end="")
        err.print(str(e), markup=False, highlight=False)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks instead of short messages.")
    ] = False,
) -> None:
    """Normalize public workload traces into one Parquet lake and characterize them."""


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Trace files, or folders whose files are all ingested.", show_default=False
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--source", "-s", help="Read every file as this source (see `traces sources`)."
        ),
    ] = None,
    trace: Annotated[
        str | None, typer.Option("--trace", "-t", help="Trace name. Default: from the file name.")
    ] = None,
    lake: LakeOption = None,
    max_rejected: Annotated[
        float,
        typer.Option(
            help="Largest fraction of rejected rows a trace may have and still be written "
            "(0 = any bad row fails the trace, 1 = keep whatever is good).",
            min=0.0,
            max=1.0,
        ),
    ] = DEFAULT_MAX_REJECTED,
    engine: EngineOption = "duckdb",
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace a trace the lake holds even when it was ingested from other files. "
            "Without it such a trace is refused (exit 2, nothing written): a generated conv.csv "
            "is detected as azure_llm_2023_conv and would take the real trace's place; give it "
            "its own name with --trace instead. The same files again (same absolute paths) "
            "always refresh their trace.",
        ),
    ] = False,
) -> None:
    """Ingest trace files into the lake; ingesting the same files again refreshes their trace.

    The format of each file is sniffed from its first bytes; files in folders that no source
    reads are skipped and listed. Rows that cannot be read are kept, with their line and the
    reason, in the lake's `_rejected` folder. A trace that fails leaves the lake as it was.

    A trace the lake already holds from other files (compared by resolved absolute path) is
    not replaced unless you pass --replace; pass --trace NEW_NAME to ingest the files beside
    it. The other traces of the run go on either way.

    With --engine spark each input file is parsed by its own Spark task (DuckDB inside the
    task, so the lake gets the same rows, schema and rejects); executors must see the files
    and the lake at the same paths as this machine.

    Examples:

        traces ingest ../shared/traces/llm_serving

        traces ingest AzureLLMInferenceTrace_code_1week.csv --lake /data/lake

        traces ingest my_export.csv --source burstgpt --trace burstgpt_campus

        traces ingest conv.csv --trace conv_x2 --lake lake   # a generated workload

        traces ingest /shared/borg2019/ --engine spark --lake /shared/lake
    """
    lake_dir = _lake(lake)
    report = ingest_paths(
        paths, lake_dir, source, trace, max_rejected, RichProgress(), _engine(engine), replace
    )
    _print_report(report, lake_dir)
    if report.failures:
        # 2 when a trace was refused for how the command was called (--trace or --replace
        # fixes it), else 1: bad data.
        raise typer.Exit(max(e.exit_code for _, e in report.failures))


@app.command()
def sources() -> None:
    """List every trace format the tool reads: family, tables written, citation.

    Example:  traces sources
    """
    # A list, not a table: citations are long and must stay readable at 80 columns.
    out.print(f"[bold]{len(SOURCES)} sources[/] (pass a name to `traces ingest --source`)\n")
    for s in SOURCES.values():
        fixture = "  [yellow]fixture only here[/]" if s.fixture_only else ""
        out.print(
            f"[bold cyan]{s.name}[/]  {s.family}  -> {', '.join(s.tables)}  "
            f"(time resolution {_resolution(s.time_resolution_s)}){fixture}"
        )
        out.print(f"  {s.description}", markup=False, highlight=False)
        out.print(f"  Cite: {s.citation}\n", markup=False, highlight=False)


@app.command()
def info(lake: ReadLakeOption = None) -> None:
    """Show what the lake holds: traces, tables, rows, time span, rejected rows by problem.

    Examples:

        traces info --lake ./lake

        traces info --lake s3://my-bucket/lake
    """
    where = open_lake(_read_lake(lake))
    lake_dir = where.root
    manifests = where.manifests()
    if not manifests:
        out.print(
            f"The lake at {lake_dir} is empty. Add a trace: traces ingest PATH --lake {lake_dir}"
        )
        return
    rows = [
        {
            "trace": m["trace"],
            "tables": m["tables"],
            "rejected": m["rows_rejected"],
            "ts_min": m.get("ts_min"),
            "ts_max": m.get("ts_max"),
            "relative": m.get("time_origin") == "relative",
            "resolution": m.get("time_resolution_s"),
        }
        for m in manifests
    ]
    out.print(_trace_table(f"Lake {lake_dir}: {len(rows)} trace(s)", rows, resolution=True))
    for m in manifests:
        if m["rows_rejected"]:
            probs = ", ".join(f"{v:,} {k}" for k, v in sorted(m["problems"].items()))
            out.print(f"{m['trace']}: rejected {probs}", markup=False, highlight=False)
    for m in manifests:
        for f in m.get("quality", []):
            out.print(
                f"{m['trace']} {f['table']}: {f['slug']}: {f['detail']}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    query = (
        "Query the lake with DuckDB: read_parquet("
        # DuckDB reads the path as a pattern: bracket the lake's own [, * and ?. Every file
        # has its `trace` column, so no hive partitioning (on by default for `k=v` paths): it
        # would also turn a `k=v` folder above the lake into a column, and `trace=x` there into
        # every row's trace.
        + sql_str(f"{glob_escape(lake_dir)}/requests/trace=*/*.parquet")
        + ", hive_partitioning=false)"
        if isinstance(where, Lake)
        else f"Characterize it in place with `traces report --lake {lake_dir}`."
    )
    out.print(
        f"Relative traces are anchored at 1970-01-01 UTC. {query}",
        markup=False,
        highlight=False,
        soft_wrap=True,  # a query to copy: never broken inside its path
    )


@app.command()
def report(
    lake: ReadLakeOption = None,
    trace: Annotated[
        list[str] | None,
        typer.Option("--trace", "-t", help="Only this trace (repeat for several). Default: all."),
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Output file. Default: report.html (or .json / .md by --format)."
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="html (self-contained, offline), json or md."),
    ] = "html",
    engine: EngineOption = "duckdb",
) -> None:
    """Characterize the traces in the lake: burstiness, failures, cold starts, token lengths.

    One self-contained HTML page (plotly inline, works offline), JSON with every number for
    scripts, or Markdown for READMEs. Sections that do not apply to a trace are left out.

    Examples:

        traces report --lake lake --out report.html

        traces report --trace azure_llm_2023_conv --format json --out azure.json

        traces report --engine spark --format json --out report.json
    """
    from analysis.report import FORMATS, write_report

    if fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    _engine(engine)
    where = _read_lake(lake)
    _require_traces(where, trace or [])
    target = out_file if out_file is not None else Path(f"report.{fmt}")
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        task = bar.add_task("report", total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        result = write_report(where, target, fmt, trace or None, progress, engine)
    size = target.stat().st_size
    out.print(
        f"Wrote {target} ({size / 1024:,.0f} KiB): {len(result.traces)} trace(s) characterized"
        + (f", {len(result.skipped)} with nothing to characterize." if result.skipped else ".")
    )


@app.command()
def generate(
    trace: Annotated[str, typer.Option("--trace", "-t", help="Trace of the lake to imitate.")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="azure-llm, mooncake, burstgpt or vidur (LLM requests, from a trace with "
            "token counts); swf (batch jobs); azure-functions (invocations per function and "
            "minute, from invocation counts or any timed requests).",
        ),
    ],
    lake: LakeOption = None,
    duration: Annotated[
        float | None,
        typer.Option("--duration", help="Seconds the workload lasts. Default: the trace's span."),
    ] = None,
    rate_scale: Annotated[
        float,
        typer.Option("--rate-scale", help="K times the trace's arrival rate, burstiness kept."),
    ] = 1.0,
    services: Annotated[
        str | None,
        typer.Option(help="Only these services, comma-separated (names as `traces report` shows)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed writes the same file.")] = 0,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write the run and its fidelity as JSON.")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when a statistic is outside its tolerance.")
    ] = False,
) -> None:
    """Generate a benchmark workload like a trace, in a tool's format, and measure how alike.

    Fits the trace's arrivals (rate curve, inter-arrival law, burstiness; the best of several
    models, named in the output) and its contents (token pairs, sessions, prefix reuse, job
    sizes and run times, per-function rates), writes FILE, and prints a fidelity table:
    generated against source on the report's statistics, each with its tolerance. The file
    reads back with `traces ingest FILE --trace NAME`. Exit 1 when the trace lacks what the
    format needs (the message lists the formats that fit) or, with --check, when a statistic
    is out of tolerance (the file is still written); exit 2 for an unknown trace, format or
    service, a negative seed, a run expected to hold over 100 million events (or under one), and an
    --out or --json that is a folder, a device or fifo (/dev/stdout), or the same file. An
    --out that is a symbolic link is written through: its target is replaced, the link kept.

    Examples:

        traces generate --trace azure_llm_2023_conv --out conv.csv --format azure-llm

        traces generate -t azure_llm_2023_conv -o x2.csv -f vidur --rate-scale 2 --duration 7200

        traces generate -t mooncake_conversation -o mc.jsonl -f mooncake --json f.json --check

        traces generate --trace swf_kth_sp2_1996_2_1_cln --out kth.swf --format swf --seed 7
    """
    from generate.api import check_format, check_outputs, check_seed
    from generate.api import generate as generate_workload
    from generate.formats import atomic_text

    check_outputs(check_format(fmt), out_file, json_file)
    check_seed(seed)
    lake_dir = _existing_lake(_lake(lake))
    _require_traces(lake_dir, [trace])
    wanted = [s.strip() for s in services.split(",") if s.strip()] if services else None
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        task = bar.add_task("starting", total=None)
        result = generate_workload(
            lake_dir,
            trace,
            out_file,
            fmt,
            duration_s=duration,
            rate_scale=rate_scale,
            services=wanted,
            seed=seed,
            progress=lambda what: bar.update(task, description=what),
        )
    files = ", ".join(str(f) for f in result.files)
    out.print(
        f"Wrote {files}: {result.events:,} {result.unit} over {result.duration_s:,.1f} s "
        f"(rate x{result.rate_scale:g}, seed {result.seed}) in {result.seconds:.1f} s.",
        markup=False,
        highlight=False,
    )
    out.print(f"Arrivals: {result.arrivals}", markup=False, highlight=False)
    out.print(f"Contents: {result.contents}", markup=False, highlight=False)
    for note in result.notes:
        out.print(f"Note: {note}", markup=False, highlight=False)
    out.print(result.fidelity.rich_table())
    if json_file is not None:
        import json

        with atomic_text(json_file) as f:  # a link is written through, as --out
            f.write(json.dumps(result.to_json(), indent=2) + "\n")
        out.print(f"Wrote {json_file}", markup=False, highlight=False)
    if check and not result.fidelity.passed:
        failed = ", ".join(r.name for r in result.fidelity.failed)
        err.print(
            f"--check: {len(result.fidelity.failed)} statistic(s) outside tolerance: {failed}. "
            f"The workload was written anyway ({files}).",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1)


@app.command()
def train(
    kind: Annotated[str, typer.Argument(help="output-length, latency or interference.")],
    trace: Annotated[
        list[str], typer.Option("--trace", "-t", help="Trace to train on (repeat for several).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="MODEL_DIR to write.")],
    lake: LakeOption = None,
    target: Annotated[
        str | None,
        typer.Option(help="interference: target benchmark (part of its name, e.g. 'redis get')."),
    ] = None,
    probes: Annotated[
        list[str] | None,
        typer.Option(
            "--probes", help="interference: probe benchmark (repeat). Default: all others."
        ),
    ] = None,
    holdout: Annotated[
        str | None, typer.Option(help="latency: model held out for the test (leave-one-model-out).")
    ] = None,
    holdout_gpu: Annotated[
        str | None,
        typer.Option(
            "--holdout-gpu",
            help="latency: GPU held out for the test (its rows are never trained on), e.g. h100.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Train a predictor with an honest time-ordered (or grouped) split; export ONNX + card.

    MODEL_DIR gets model.onnx (loadable with onnxruntime alone), model.json (features with
    units, target, training traces and their sha256, split, held-out metrics beside baselines,
    library versions) and model.skops. Never pickle.

    Examples:

        traces train output-length --trace azure_llm_2023_conv --out models/ol

        traces train latency --trace vidur_profiling --out models/lat

        traces train latency --trace vidur_profiling --holdout-gpu h100 --out models/lat-h100

        traces train interference --trace azure_vm_noise_2024 --target "redis get" --out models/vm
    """
    from predictors.api import train as train_model

    opts: dict[str, Any] = {"seed": seed}
    if target is not None:
        opts["target"] = target
    if probes:
        opts["probes"] = probes
    if holdout is not None:
        opts["holdout"] = holdout
    if holdout_gpu is not None:
        opts["holdout_gpu"] = holdout_gpu
    lake_dir = _existing_lake(_lake(lake))
    _require_traces(lake_dir, trace)
    result = train_model(kind, lake_dir, trace, out_dir, **opts)
    out.print(f"Wrote {result.out}", markup=False, highlight=False)
    for note in _split_notes(result.card):
        err.print(f"note: {note}", markup=False, highlight=False)
    _print_metrics(result.metrics)
    for key, value in result.card.get("metrics", {}).items():
        if key != "test" and _is_evaluation(value):
            _print_metric_table(value, key.replace("_", " "))


def _split_notes(card: dict[str, Any]) -> list[str]:
    """What a user must know about the held-out set: a trace without timestamps cannot be
    split by time, and the card says which split it got."""
    notes = []
    for entry in card.get("training", {}).get("data", []):
        kind = entry.get("split", {}).get("kind") if isinstance(entry, dict) else None
        if isinstance(kind, str) and not kind.startswith("time"):
            notes.append(
                f"{entry.get('trace')}: no time-ordered split; held out by {kind} "
                "(recorded in model.json 'split')."
            )
    return notes


def _print_metrics(metrics: dict[str, Any], what: str = "held-out") -> None:
    """Held-out metrics: the model beside each baseline, one row per metric; then each
    further evaluation the result holds in the same layout (leave one benchmark out, ...)."""
    _print_metric_table(metrics, what)
    for key, value in metrics.items():
        if _is_evaluation(value):
            _print_metric_table(value, key.replace("_", " "))


def _is_evaluation(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("model"), dict) and "baselines" in value


def _print_metric_table(metrics: dict[str, Any], what: str) -> None:
    model = metrics.get("model", {})
    baselines = metrics.get("baselines", {})
    rows = metrics.get("rows")
    title = f"{what} rows: {rows:,}" if isinstance(rows, int) else f"{what} rows: {rows}"
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=title)
    table.add_column("metric", no_wrap=True)
    table.add_column("model", justify="right")
    for name in baselines:
        table.add_column(name, justify="right", overflow="fold")
    for metric in model:
        values = [model[metric], *(b.get(metric) for b in baselines.values())]
        table.add_row(metric, *_metric_cells(metric, values))
    out.print(table)


def _metric_cells(metric: str, values: list[Any]) -> list[str]:
    """One format per metric, as in the report's tables (analysis.presentation): counts (a count
    metric whose every value is whole: rows, flagged, scored) as integers with thousands
    separators, other metrics with one number of decimals; an em dash where a baseline has no
    value."""
    from analysis.presentation import MISSING, is_count, is_missing, number_format

    numbers = [v for v in values if isinstance(v, int | float) and not is_missing(v)]
    fmt = number_format(numbers, count=is_count(metric))
    return [
        MISSING
        if v is None or (isinstance(v, int | float) and is_missing(v))
        else fmt(v)
        if isinstance(v, int | float)
        else str(v)
        for v in values
    ]


@app.command()
def evaluate(
    model_dir: Annotated[Path, typer.Argument(help="A MODEL_DIR written by `traces train`.")],
    trace: Annotated[str, typer.Option("--trace", "-t", help="Trace to score the model on.")],
    lake: LakeOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Score a saved model on any trace in the lake, beside simple baselines.

    A trace the model was trained on is scored on its held-out part only. `--format json`
    prints {"model": {metric: value}, "baselines": {name: {metric: value}}, "rows": N}.

    Examples:

        traces evaluate models/ol --trace mooncake_conversation

        traces evaluate models/ol --trace azure_llm_2023_conv --format json
    """
    from analysis.db import dumps
    from predictors.api import evaluate as evaluate_model

    if fmt not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    lake_dir = _existing_lake(_lake(lake))
    _require_traces(lake_dir, [trace])
    result = evaluate_model(model_dir, lake_dir, trace)
    if fmt == "json":
        print(dumps(result))
    else:
        _print_metrics(result)


@app.command()
def predict(
    model_dir: Annotated[Path, typer.Argument(help="A MODEL_DIR written by `traces train`.")],
    trace: Annotated[str, typer.Option("--trace", "-t", help="Trace whose rows to predict.")],
    out_file: Annotated[
        Path, typer.Option("--out", "-o", help="Parquet file to write (one row per trace row).")
    ],
    lake: LakeOption = None,
    online: Annotated[
        bool,
        typer.Option(
            help="Replay the trace in arrival order through the session API "
            "(predict, then observe), as a scheduler would, instead of batch features."
        ),
    ] = False,
) -> None:
    """Predict every row of a trace with a saved model and write the predictions as Parquet.

    Each output row holds the trace row's key columns (trace, row, ts and the identifying
    columns of its kind) and one column per model output: for output length
    output_tokens_p10 / _p50 / _p90 (tokens), for latency time_s (seconds), for interference
    ratio (to the SKU/region median). Without --online the features are computed from the
    lake in batch (as in training); with --online each row goes through
    `predictors.runtime.load(MODEL_DIR).session()` one at a time. Both give the same
    numbers (to 1e-6): a scheduler using the session sees what training saw.

    Examples:

        traces predict models/ol --trace azure_llm_2023_conv --out ol.parquet

        traces predict models/ol --trace mooncake_conversation --out ol.parquet --online
    """
    from predictors.replay import predict_trace

    lake_dir = _existing_lake(_lake(lake))
    _require_traces(lake_dir, [trace])
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} rows"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        task = bar.add_task("online replay" if online else "batch", total=None)
        result = predict_trace(
            model_dir,
            lake_dir,
            trace,
            out_file,
            online=online,
            progress=lambda n: bar.advance(task, n),
            on_total=lambda n: bar.update(task, total=n),
        )
    out.print(
        f"Wrote {result.out}: {result.rows:,} rows ({result.mode}) with "
        f"{', '.join(result.columns)} in {result.seconds:.1f} s.",
        markup=False,
        highlight=False,
    )


@app.command("compare-workloads")
def compare_workloads(
    a: Annotated[str, typer.Argument(help="Reference trace (the source).", show_default=False)],
    b: Annotated[
        str, typer.Argument(help="Trace scored against A (e.g. a generator's output, ingested).")
    ],
    lake: ReadLakeOption = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write the table as JSON to this file.")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when a statistic is outside its tolerance.")
    ] = False,
) -> None:
    """Score trace B against trace A on the fidelity statistics of `traces generate`.

    Arrivals (rate, rate curve, inter-arrival CV and KS, IDC per window, Hurst) on the
    coarser of the two clocks, then the content columns both have (token lengths, run times,
    ...), each with its tolerance (README, "Generating workloads"). Ingest another tool's
    output (ServeGen, BurstGPT's generator) and score it against the real trace. Exit 1 when
    a trace has no arrivals or, with --check, when a statistic is out of tolerance; exit 2 for
    an unknown trace.

    Examples:

        traces compare-workloads azure_llm_2023_conv vidur_splitwise_conv

        traces compare-workloads mooncake_conversation my_generated --check --json fit.json
    """
    from analysis.db import dumps
    from generate.compare import compare_workloads as compare
    from generate.formats import atomic_text, writable

    if json_file is not None:
        writable(json_file, "--json")
    where = _read_lake(lake)
    _require_traces(where, [a, b])
    table = compare(where, a, b)
    for note in table.notes:
        out.print(note, markup=False, highlight=False, soft_wrap=True)
    out.print(table.rich_table())
    if json_file is not None:
        with atomic_text(json_file) as f:
            f.write(dumps(table.to_json()) + "\n")
        out.print(f"Wrote {json_file}", markup=False, highlight=False)
    if check and not table.passed:
        failed = ", ".join(r.name for r in table.failed)
        err.print(
            f"--check: {len(table.failed)} statistic(s) outside tolerance: {failed}.",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1)


@app.command()
def dashboard(
    lake: LakeOption = None,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    host: Annotated[
        str, typer.Option(help="Address to bind. Default: this machine only.")
    ] = "127.0.0.1",
    models: Annotated[
        Path | None,
        typer.Option(help="Folder of model folders for the predictors page. Default: ./models."),
    ] = None,
) -> None:
    """Open the Streamlit dashboard over the lake (bound to 127.0.0.1 unless --host says).

    Pages: overview, arrivals and burstiness, token lengths, failures, cold starts (with a
    keep-alive what-if), predictors, and compare. Ctrl+C stops it.

    Examples:

        traces dashboard --lake lake

        traces dashboard --lake /data/lake --port 8600 --models models
    """
    from dashboards.launch import run_dashboard

    lake_dir = _existing_lake(_lake(lake))
    Lake.open(lake_dir)  # a clear message now rather than an empty page later
    if models is not None:
        os.environ["TRACES_MODELS"] = str(models)
    raise typer.Exit(run_dashboard(lake_dir, port, host))


@app.command()
def datasets(
    family: Annotated[
        str | None, typer.Option(help="Only this family (llm_serving, serverless, ...).")
    ] = None,
) -> None:
    """List the public trace datasets in the catalog: licence, size, how to get them, adapters.

    Examples:

        traces datasets

        traces datasets --family serverless
    """
    from ingest.catalog import FAMILIES, load_catalog  # tomllib: only for these commands

    if family is not None and family not in FAMILIES:
        close = difflib.get_close_matches(family, FAMILIES, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        raise UsageError(
            f"Unknown family {family!r} for --family. {hint}Families: {', '.join(FAMILIES)}."
        )
    catalog = [d for d in load_catalog() if family is None or d.family == family]
    out.print(f"[bold]{len(catalog)} datasets[/] (`traces fetch NAME` downloads one)\n")
    for d in catalog:
        size = d.release.total_size or "size unknown"
        how = {"direct": "download", "partial": "partly by hand", "manual": "by hand"}[d.access]
        adapters = ", ".join(d.adapters) or "no adapter yet"
        out.print(f"[bold cyan]{d.name}[/]  {d.family}  {size}, {how}  -> {adapters}")
        out.print(f"  {d.title}. Licence: {d.licence}.", markup=False, highlight=False)
        out.print(f"  {d.homepage}\n", markup=False, highlight=False, soft_wrap=True)


@app.command()
def fetch(
    name: Annotated[str, typer.Argument(help="Dataset name from `traces datasets`.")],
    dest: Annotated[
        Path | None, typer.Option(help="Folder to download into. Default: ./data/NAME.")
    ] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="Fetch the dataset's small public sample instead.")
    ] = False,
) -> None:
    """Download a dataset's public files, resuming partial downloads and checking sha256.

    A file whose checksum does not match the catalog is refused and removed. Datasets behind a
    form or a drive link print the steps to get them by hand.

    Examples:

        traces fetch azure_llm_2023

        traces fetch azure_functions_2019 --sample --dest /data/azure2019
    """
    from ingest.fetch import default_dest
    from ingest.fetch import fetch as fetch_dataset

    target = dest if dest is not None else default_dest(name)
    bar = RichProgress()
    current: list[str] = []

    def progress(path: str, done: int, total: int | None) -> None:
        if current != [path]:
            if current:
                bar.finish()
            bar.start(Path(path).name, total or 0)
            current[:] = [path]
        bar.update(done)

    try:
        result = fetch_dataset(name, target, progress=progress, sample=sample)
    finally:
        if current:
            bar.finish()
    for f in result.files:
        if f.status != "manual":
            mark = "" if f.verified else "  UNVERIFIED"
            out.print(f"{f.status:>10}  {f.path}{mark}", markup=False, highlight=False)
    if result.unverified:
        out.print(
            f"\n{len(result.unverified)} file(s) UNVERIFIED: the catalog publishes no checksum "
            "for them, so a damaged or altered download cannot be told from the real file. "
            "Their sha256, to compare with the publisher's if one exists, and what was checked:",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        checked = {
            "size": "size as in the catalog",
            "announced size": "size as the server announced it",
            "none": "nothing: no size is known, a download cut short would look complete",
        }
        for f in result.unverified:
            digest = f.sha256 or "(already present; not hashed)"
            out.print(
                f"  {digest}  {f.path}  ({checked[f.checked]})",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    if result.manual:
        out.print("\nTo finish by hand:")
        for step in result.manual:
            out.print(f"  - {step}", markup=False, highlight=False, soft_wrap=True)
    else:
        out.print(f"\nDone. Ingest it with: traces ingest {target}")


@app.command()
def schema() -> None:
    """Print the canonical schema (every table and column, with units) as Markdown.

    Example:  traces schema > schema.md
    """
    # Plain text, not the console: rich would wrap long table rows at the terminal's width,
    # and `traces schema > file` must write exactly docs/schema.md.
    sys.stdout.write(docs_markdown())


def main() -> None:
    # --debug is accepted anywhere on the line, not only before the command name.
    debug = "--debug" in sys.argv[1:] or os.environ.get("TRACES_DEBUG") == "1"
    argv = [a for a in sys.argv[1:] if a != "--debug"]
    try:
        # Standalone mode: click reports usage errors itself (exit 2) and raises SystemExit.
        app(args=argv, prog_name="traces")
    except TracesError as e:
        if debug:
            raise
        err.print(str(e), markup=False, highlight=False)
        sys.exit(e.exit_code)
    except SystemExit as e:
        # Typer turns Ctrl-C inside a command into a silent exit 130; say what it left behind.
        if e.code == 130 and _caused_by_interrupt(e):
            err.print(_interrupted_message(argv), markup=False, highlight=False)
        raise
    except KeyboardInterrupt:
        if debug:
            raise
        err.print(_interrupted_message(argv), markup=False, highlight=False)
        sys.exit(130)
    except OSError as e:
        # The file system said no: a read-only or full disk, a folder without permission.
        if debug:
            raise
        err.print(_os_error_message(e, argv), markup=False, highlight=False)
        sys.exit(1)
    except Exception as e:
        if debug:
            raise
        if _is_query_interrupt(e):
            err.print(_interrupted_message(argv), markup=False, highlight=False)
            sys.exit(130)
        err.print(
            f"Unexpected error: {e!r}. Run again with --debug for the traceback, and please "
            "report it.",
            markup=False,
            highlight=False,
        )
        sys.exit(1)


def _caused_by_interrupt(e: BaseException) -> bool:
    seen: BaseException | None = e
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_query_interrupt(e: Exception) -> bool:
    """Ctrl-C during a DuckDB query: DuckDB stops the query and raises this instead of
    KeyboardInterrupt (a RuntimeError "Query interrupted", or its InterruptException)."""
    import duckdb  # already loaded by the ingest and analysis packages

    return isinstance(e, duckdb.InterruptException) or (
        isinstance(e, RuntimeError) and str(e) == "Query interrupted"
    )


def _command(argv: list[str]) -> str:
    return next((a for a in argv if not a.startswith("-")), "")


def _interrupted_message(argv: list[str]) -> str:
    command = _command(argv)
    after = {
        "ingest": "The trace being ingested was discarded: the lake keeps its earlier data "
        "of it (traces that finished before were written; `traces info` lists them).",
        "fetch": "A partial download is kept as FILE.part: run the same fetch again to resume.",
        "train": "The model folder may be incomplete: train again before using it.",
        "report": "The lake is unchanged; the report file may be incomplete.",
    }
    return "Interrupted (Ctrl-C). " + after.get(command, "The lake is unchanged.")


_OS_REASONS = {
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
}


def _os_error_message(e: OSError, argv: list[str]) -> str:
    where = f"{e.filename}" if e.filename else "a file"
    if e.filename2:
        where += f" (-> {e.filename2})"
    reason = _OS_REASONS.get(e.errno or 0) or e.strerror or str(e)
    option = {"report": "--out", "train": "--out", "fetch": "--dest"}.get(_command(argv), "--lake")
    if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        fix = (
            "The command needs to write there: check the folder's permissions and mount, or "
            f"pass {option} with a folder you can write to."
        )
    elif e.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = f"Free some space, or pass {option} with a folder on another disk."
    else:
        fix = "Check the path and run again (--debug shows the traceback)."
    return f"Cannot use {where}: {reason}. {fix}"


if __name__ == "__main__":
    main()
