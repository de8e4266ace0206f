"""Alibaba ServeGen (arXiv 2505.09999): per-client workload statistics from Model Studio (Bailian).

Not per-request traces: the release publishes, for each client of a model, statistics fitted
from production logs, in `data/<category>/<model>/` (one trace per folder, e.g.
`servegen_language_m_large`):

- `chunk-<client>-trace.csv`, no header: `timestamp` (window start, s since 00:00 of the first
  day; 600 s windows), `rate` (requests/s), `cv` (inter-arrival coefficient of variation),
  `pat_name` (`Gamma`, `Weibull`, or empty when the window had no traffic), `pat_arg1`,
  `pat_arg2` (shape, scale in s, of the fitted inter-arrival distribution). Rate and CV go to
  `series` (metrics `request_rate`, `inter_arrival_cv`; the CV only where a fit exists, as the
  upstream loader reads empty windows as "no data"); the fits go to `summaries` (metric
  `inter_arrival_time`, stat `gamma_shape`, `weibull_scale`, ...; the window in `extra`).
- `chunk-<client>-dataset.json`: `{"<window start s>": {"<field>": "<PMF>"}}` in 6-h windows,
  each PMF a Python dict literal `{bin: probability, ...}` over token counts, item counts or
  (`reason_ratio`) ratios. Each bin becomes one `summaries` row (stat `pmf`, the bin and window
  in `extra`). The upstream loader `eval`s these strings; here a strict parser accepts only
  `{number: number, ...}` and rejects anything else as a row problem: no text from the file is
  ever evaluated as code.

Times are relative (anchored at 1970-01-01 UTC); entities are `client-<n>`.

Values are kept or rejected, never changed: a trace line needs its window start, a whole
number of seconds that lands within the years 1..9999; rate, CV and fit parameters must be
finite numbers. A rejected line gives no series row and no fit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from ingest.errors import CorruptFile, EmptyFile
from ingest.problems import Rejected
from ingest.records import CSV_WITHOUT_HEADER, RecordRule
from ingest.sources.base import (
    ReadContext,
    Source,
    TableQuery,
    head_lines,
    require_fields,
    reshaping,
    slug,
)
from ingest.sources.checks import (
    PROBLEM,
    WHOLE,
    RowChecks,
    checked_scan,
    seconds_in_range,
    ts_from_seconds,
    unpivot,
)

TRACE_COLUMNS = ("timestamp", "rate", "cv", "pat_name", "pat_arg1", "pat_arg2")
TRACE_TYPES = {
    "timestamp": WHOLE,
    "rate": "DOUBLE",
    "cv": "DOUBLE",
    "pat_name": "VARCHAR",
    "pat_arg1": "DOUBLE",
    "pat_arg2": "DOUBLE",
}
WINDOW_S = 600
EXPECTS = (
    "ServeGen client files: chunk-<n>-trace.csv (header-less: timestamp,rate,cv,pat_name,"
    'pat_arg1,pat_arg2) or chunk-<n>-dataset.json ({"<window s>": {"<field>": "{bin: p, ...}"}})'
)
# Distributions whose two parameters are (shape, scale): what ServeGen fits.
SHAPE_SCALE = ("Gamma", "Weibull")
BATCH_ROWS = 50_000

_TRACE_FILE = re.compile(r"chunk-(\d+)-trace\.csv$")
_DATASET_FILE = re.compile(r"chunk-(\d+)-dataset\.json$")
_DATASET_HEAD = re.compile(rb'\A\s*\{\s*"\d+"\s*:\s*\{\s*"[A-Za-z_]+"\s*:\s*"\{')
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_FLOAT = re.compile(_NUMBER)
_PAIR = re.compile(rf"\s*({_NUMBER})\s*:\s*({_NUMBER})\s*")
_INT = re.compile(r"[-+]?\d+")
PMF_TOLERANCE = 1e-6  # the upstream loader's check that a PMF sums to 1


# ---------------------------------------------------------------- sniffing


def _is_trace_line(line: str) -> bool:
    f = line.strip().split(",")
    if len(f) != len(TRACE_COLUMNS) or not f[0].isdigit():
        return False
    numbers = (f[1], f[2], f[4], f[5])
    return all(_FLOAT.fullmatch(x) for x in numbers) and (f[3] == "" or f[3].isalpha())


def sniff(head: bytes, name: str) -> bool:
    if _TRACE_FILE.search(name):
        lines = head_lines(head, 1)
        return bool(lines) and _is_trace_line(lines[0])
    if _DATASET_FILE.search(name):
        return bool(_DATASET_HEAD.match(head.removeprefix(b"\xef\xbb\xbf")))
    return False


def trace_name(path: Path) -> str:
    parts = [slug(p) for p in (path.parent.parent.name, path.parent.name) if slug(p)]
    return "_".join(["servegen", *parts])


# ---------------------------------------------------------------- PMF strings


def parse_pmf(text: str) -> list[tuple[str, float]]:
    """`{bin: probability, ...}` as (bin literal, probability) pairs; ValueError otherwise.

    Only numbers, colons, commas and the two braces are accepted, so a string that is code
    (a call, a name, a nested literal) is refused, never evaluated.
    """
    s = text.strip()
    if not (s.startswith("{") and s.endswith("}")):
        raise ValueError("not a {bin: probability, ...} literal")
    body = s[1:-1].strip()
    if not body:
        return []
    pairs = []
    for item in body.split(","):
        m = _PAIR.fullmatch(item)
        if m is None:
            raise ValueError(f"unexpected entry {item.strip()[:40]!r}; expected number: number")
        p = float(m.group(2))
        if not (math.isfinite(float(m.group(1))) and 0.0 <= p <= 1.0):
            raise ValueError(f"entry {item.strip()[:40]!r} is not a bin with a probability")
        pairs.append((m.group(1), p))
    total = math.fsum(p for _, p in pairs)
    if abs(total - 1.0) > PMF_TOLERANCE:
        raise ValueError(f"probabilities sum to {total:.9g}, not 1")
    return pairs


def _bin_json(literal: str) -> str:
    """The bin as a JSON number: integers stay integers, 0.25 stays 0.25."""
    if _INT.fullmatch(literal):
        return str(int(literal))
    return repr(float(literal))


# ---------------------------------------------------------------- reading


PMF_SCHEMA = pa.schema(
    [
        ("entity", pa.string()),
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("extra", pa.string()),
    ]
)


def _line_of(text: str, window: str, field: str | None = None) -> int | None:
    """Line of a window (or of a field inside it) in the JSON text, for reject messages."""
    pos = text.find(f'"{window}"')
    if pos >= 0 and field is not None:
        pos = text.find(f'"{field}"', pos)
    return text.count("\n", 0, pos) + 1 if pos >= 0 else None


def _load(path: Path) -> tuple[str, Any]:
    # utf-8-sig: a byte-order mark is not part of the JSON.
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    try:
        return text, json.loads(text)
    except ValueError as e:
        line = getattr(e, "lineno", None)
        where = f"{path}, line {line}" if line else str(path)
        raise CorruptFile(
            f"{where}: not valid JSON ({e}); expected {EXPECTS}. The file is probably "
            "truncated; download it again."
        ) from e


def _pmf_batches(paths: Sequence[Path], ctx: ReadContext) -> Iterator[pa.RecordBatch]:
    cols: dict[str, list[Any]] = {f.name: [] for f in PMF_SCHEMA}

    def flush() -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(cols, schema=PMF_SCHEMA)
        for v in cols.values():
            v.clear()
        return batch

    for path in paths:
        m = _DATASET_FILE.search(path.name)
        entity = f"client-{m.group(1)}" if m else path.name
        text, data = _load(path)
        if not isinstance(data, dict) or not data:
            raise EmptyFile(f"{path}: no windows in the file; expected {EXPECTS}.")
        for window, fields in data.items():
            if not window.isdigit() or not isinstance(fields, dict):
                line = _line_of(text, window)
                message = f"window {window!r}: expected a start in seconds and an object of PMFs"
                ctx.reject(
                    Rejected(
                        str(path), line, "malformed-line", message, str(window), table="summaries"
                    )
                )
                continue
            for field, pmf in fields.items():
                try:
                    if not isinstance(pmf, str):
                        raise ValueError(f"a {type(pmf).__name__}, not a PMF string")
                    pairs = parse_pmf(pmf)
                except ValueError as e:
                    line = _line_of(text, window, field)
                    message = f"window {window}, field {field}: {e}"
                    raw = str(pmf)[:500]
                    ctx.reject(
                        Rejected(
                            str(path), line, "unparsable-value", message, raw, field, "summaries"
                        )
                    )
                    continue
                for b, p in pairs:
                    cols["entity"].append(entity)
                    cols["metric"].append(field)
                    cols["value"].append(p)
                    cols["extra"].append(f'{{"bin":{_bin_json(b)},"window_start_s":{int(window)}}}')
                if len(cols["value"]) >= BATCH_ROWS:
                    yield flush()
    if cols["value"]:
        yield flush()


def _client(filename_col: str) -> str:
    return f"'client-' || regexp_extract({filename_col}, 'chunk-([0-9]+)-trace', 1)"


def _series_sql(scan: str) -> str:
    wide = f"""(
        SELECT {_client("filename")} AS entity, "timestamp" AS start_s,
               rate AS request_rate,
               CASE WHEN pat_name IS NOT NULL THEN cv END AS inter_arrival_cv, {PROBLEM}
        FROM {scan})"""
    long = unpivot(wide, "request_rate, inter_arrival_cv", "metric", "value", "request_rate")
    return f"""
    SELECT {ts_from_seconds("start_s")} AS ts,
           {float(WINDOW_S)} AS interval_s, entity, metric, value,
           CASE metric WHEN 'request_rate' THEN 'req/s' ELSE 'dimensionless' END AS unit,
           {PROBLEM}
    FROM {long}"""


def _fits_sql(scan: str) -> str:
    known = "pat_name IN (" + ", ".join(f"'{d}'" for d in SHAPE_SCALE) + ")"
    return f"""
    SELECT entity, 'inter_arrival_time' AS metric,
           lower(pat_name) || '_' || CASE WHEN NOT {known} THEN arg
                WHEN arg = 'arg1' THEN 'shape' ELSE 'scale' END AS stat,
           value,
           CASE WHEN NOT {known} THEN NULL
                WHEN arg = 'arg1' THEN 'dimensionless' ELSE 's' END AS unit,
           json_object('window_start_s', start_s, 'window_s', {WINDOW_S},
                       'distribution', pat_name)::VARCHAR AS extra
    FROM (UNPIVOT (
        SELECT {_client("filename")} AS entity, "timestamp" AS start_s, pat_name,
               pat_arg1 AS arg1, pat_arg2 AS arg2
        -- A rejected line is reported by the series query; it gives no fit here.
        FROM {scan} WHERE pat_name IS NOT NULL AND {PROBLEM} IS NULL)
      ON arg1, arg2 INTO NAME arg VALUE value)"""


def _folder_queries(folder: list[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    model = folder[0].parent.name
    constants = {"service": model, "kind": folder[0].parent.parent.name or model}
    traces = tuple(p for p in folder if _TRACE_FILE.search(p.name))
    datasets = tuple(p for p in folder if _DATASET_FILE.search(p.name))
    if traces:
        for p in traces:
            require_fields(p, len(TRACE_COLUMNS), EXPECTS, "servegen")
        rejects = ctx.rejects_table()

        def scan_of(rejects: str) -> tuple[str, RowChecks]:
            return checked_scan(
                traces,
                TRACE_COLUMNS,
                TRACE_TYPES,
                rejects,
                header=False,
                filename=True,
                required=["timestamp"],
                checks=[seconds_in_range('"timestamp"', "timestamp")],
            )

        scan, checks = scan_of(rejects)
        yield TableQuery(
            "series",
            _series_sql(scan),
            traces,
            dict(constants),
            rejects=rejects,
            checks=checks,
            **reshaping(traces, TRACE_COLUMNS, rejects, header=False),
        )
        # The same lines again: a line the first scan rejected is already reported, so this
        # scan's rejects table is left unread, and its rejected rows are left out.
        again, _ = scan_of(ctx.rejects_table())
        # The series query above accounts for these lines.
        yield TableQuery("summaries", _fits_sql(again), traces, dict(constants), accounting="none")
    if datasets:
        reader = pa.RecordBatchReader.from_batches(PMF_SCHEMA, _pmf_batches(datasets, ctx))
        yield TableQuery(
            table="summaries",
            sql="SELECT entity, metric, 'pmf' AS stat, value, 'probability' AS unit, extra "
            "FROM arrow_input",
            files=datasets,
            constants=dict(constants),
            arrow=reader,
        )


def read(paths: Sequence[Path], ctx: ReadContext) -> Iterator[TableQuery]:
    folders: dict[Path, list[Path]] = {}
    for p in paths:
        folders.setdefault(p.parent, []).append(p)
    for folder in folders.values():
        yield from _folder_queries(sorted(folder), ctx)


def _record_rule(path: Path) -> RecordRule | None:
    """Trace CSVs are header-less lines; a dataset `.json` is one JSON document, not lines."""
    return None if path.name.endswith(".json") else CSV_WITHOUT_HEADER


SOURCE = Source(
    records=_record_rule,
    name="servegen",
    family="llm_serving",
    tables=("series", "summaries"),
    description="Alibaba ServeGen per-client statistics: 10-min request rate and inter-arrival "
    "CV with Gamma/Weibull fits, 6-h token-length PMFs (language, reasoning, multimodal).",
    citation='Xiang et al., "ServeGen: Workload Characterization and Generation of Large '
    'Language Model Serving in Production", arXiv:2505.09999, 2025.',
    expects=EXPECTS,
    time_resolution_s=float(WINDOW_S),
    time_origin="relative",
    sniff=sniff,
    read=read,
    trace_name=trace_name,
)
