"""What the "Generate a workload" page shows, computed once per (lake, trace, rate scale,
duration, seed, format) and cached.

`run` calls the Python API (`generate.api.generate`) into a temporary folder, never into the
lake, and reads the generated file back through our own adapter (auto-detection into a
temporary lake, as `traces ingest` would): the figures then see the source and the generated
workload through the same code, `generate.compare.trace_arrivals` and `trace_contents`, and a
file our adapters cannot read would show here as an error. What is kept is small: the
`GenerateResult`, the file's bytes for the download button, and every curve thinned in numpy
to a few hundred points (rate bins, quantiles), so a cached page costs a dictionary lookup.
"""

from __future__ import annotations

import io
import math
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analysis import escape
from analysis.db import LakeDB
from dashboards import data
from generate import source
from generate.api import GenerateResult, fitting_formats, generate
from generate.compare import NoArrivals, TraceArrivals, trace_arrivals, trace_contents
from generate.fidelity import FidelityTable, measure_pair
from generate.formats import FORMATS
from ingest.errors import DataError

RATE_BINS = 240  # bins of the rate-over-time figure, at most
CDF_POINTS = 201  # quantiles a CDF is drawn from (plus the far tail)
TAIL = (0.995, 0.999, 0.9999)
DOWNLOAD_MAX = 256 * 1024 * 1024  # bytes of generated files kept for the download button
CONTENT_COLUMNS = {
    "input_tokens": "input tokens per request",
    "output_tokens": "output tokens per request",
    "run_s": "job run time (s)",
}
RESULT = {True: "pass", False: "FAIL", None: "not checked"}
FAILED_STYLE = "background-color: #fde2e1; color: #9b1c1c"
SUFFIX = {"mooncake": ".jsonl", "swf": ".swf"}
# Whole, readable bin widths (s); the rate figure takes the first that keeps RATE_BINS bins.
NICE_BINS_S = (
    *(m * 10.0**e for e in range(-3, 1) for m in (1, 2, 5)),
    10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0,
    21600.0, 43200.0, 86400.0, 172800.0, 604800.0,
)  # fmt: skip


@dataclass(frozen=True)
class Choice:
    """What a trace offers the page: formats that fit it and its span, or why it cannot feed a
    generator (the API's own DataError message)."""

    formats: list[str]
    span_s: float
    shape: str | None
    problem: str | None = None


@st.cache_data(show_spinner=False)
def choice(ref: data.LakeRef, trace: str) -> Choice:
    prof = data._run(ref, lambda db: source.profile(db, trace))
    formats = fitting_formats(prof)
    problem = None
    if not formats:
        # The API's check says what the trace holds and what a format needs.
        try:
            from generate.api import check_fits

            check_fits(next(iter(FORMATS.values())), prof)
        except DataError as e:
            problem = str(e)
    return Choice(formats, prof.span_s, prof.shape, problem)


@dataclass(frozen=True)
class Curve:
    x: list[float]
    y: list[float]


@dataclass(frozen=True)
class Curves:
    """Source and generated curves, thinned; generated ones as generated (not rescaled)."""

    rate_bin_s: float
    rate: dict[str, Curve]  # side -> (bin start (s), arrivals per second)
    iat: dict[str, Curve]  # side -> (gap (s), share of gaps at or below); empty: not measurable
    idc: dict[str, Curve]  # side -> (window (s), IDC)
    contents: dict[str, dict[str, Curve]] = field(default_factory=dict)  # column -> side -> CDF
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Generated:
    result: GenerateResult
    file_name: str  # the download's name (a .zip when the format wrote several files)
    payload: bytes | None  # None: too large to keep for a download
    size: int  # bytes written
    curves: Curves


def bin_width(span_s: float, clock_s: float) -> float:
    """The first nice width that keeps the span within RATE_BINS bins, at least one tick."""
    target = max(span_s / RATE_BINS, clock_s)
    return next((b for b in NICE_BINS_S if b >= target), target)


def rate_curve(ts_s: np.ndarray, span_s: float, bin_s: float) -> Curve:
    """Arrivals per second in bins of `bin_s` over the span (the last bin by its own width)."""
    n = max(1, math.ceil(span_s / bin_s - 1e-9))
    idx = np.minimum((ts_s // bin_s).astype(np.int64), n - 1)
    counts = np.bincount(idx[idx >= 0], minlength=n)[:n]
    starts = np.arange(n) * bin_s
    widths = np.minimum(bin_s, np.maximum(span_s - starts, bin_s * 1e-3))
    return Curve(starts.tolist(), (counts / widths).tolist())


def cdf_curve(values: np.ndarray, positive: bool = False) -> Curve | None:
    """(value, share at or below) at CDF_POINTS quantiles and the far tail."""
    v = values[np.isfinite(values)]
    if v.size < 2:
        return None
    p = np.unique(np.concatenate((np.linspace(0.0, 1.0, CDF_POINTS), TAIL)))
    x = np.quantile(v, p, method="inverted_cdf")
    if positive:  # a log axis: ties at 0 (gaps within one tick) are left off the curve
        keep = x > 0
        x, p = x[keep], p[keep]
    return Curve(x.tolist(), p.tolist())


def curves(
    src: TraceArrivals,
    gen: TraceArrivals,
    gen_span_s: float,
    src_contents: dict[str, np.ndarray],
    gen_contents: dict[str, np.ndarray],
) -> Curves:
    clock = max(src.resolution_s, gen.resolution_s)
    notes: list[str] = []
    bin_s = bin_width(max(src.span_s, gen_span_s), clock)
    rate = {
        "source": rate_curve(src.ts_s, src.span_s, bin_s),
        "generated": rate_curve(gen.ts_s, gen_span_s, bin_s),
    }
    a, b = measure_pair(src.ts_s, gen.ts_s, src.span_s, gen_span_s, clock)
    iat: dict[str, Curve] = {}
    if src.counts_only or gen.counts_only:
        notes.append(
            "No inter-arrival CDF: per-minute invocation counts place every arrival of a minute "
            "at its start, so the gaps within a minute are not in the data."
        )
    elif not (a.gaps_measurable and b.gaps_measurable):
        notes.append(
            f"No inter-arrival CDF: the mean gap is under two ticks of the {clock:g} s clock, "
            "so the gaps' shape is not in the timestamps."
        )
    else:
        for side, ts in (("source", src.ts_s), ("generated", gen.ts_s)):
            c = cdf_curve(np.diff(ts), positive=True)
            if c is not None:
                iat[side] = c
    idc = {
        side: Curve(sorted(m.idc), [m.idc[w] for w in sorted(m.idc)])
        for side, m in (("source", a), ("generated", b))
        if m.idc
    }
    contents: dict[str, dict[str, Curve]] = {}
    for col in CONTENT_COLUMNS:
        if col in src_contents and col in gen_contents:
            pair = {
                side: c
                for side, values in (
                    ("source", src_contents[col]),
                    ("generated", gen_contents[col]),
                )
                if (c := cdf_curve(np.asarray(values, dtype=np.float64))) is not None
            }
            if len(pair) == 2:
                contents[col] = pair
    return Curves(bin_s, rate, iat, idc, contents, notes)


def _payload(files: list[Path]) -> tuple[str, bytes | None, int]:
    size = sum(f.stat().st_size for f in files)
    if len(files) == 1:
        return files[0].name, files[0].read_bytes() if size <= DOWNLOAD_MAX else None, size
    name = files[0].name.split(".")[0] + ".zip"
    if size > DOWNLOAD_MAX:
        return name, None, size
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.write(f, f.name)
    return name, buf.getvalue(), size


def _read_back(files: list[Path], folder: Path) -> tuple[TraceArrivals, dict[str, np.ndarray]]:
    """The generated file as our adapters read it: ingested into a temporary lake."""
    from ingest.pipeline import ingest_paths

    lake = folder / "lake"
    report = ingest_paths(files, lake)
    if report.failures:
        raise DataError(
            "The generated file did not read back through our adapters: "
            + "; ".join(str(f) for f in report.failures)
        )
    db = LakeDB(lake)
    try:
        name = db.traces()[0]
        return trace_arrivals(db, name), trace_contents(db, name)
    finally:
        db.close()


@st.cache_data(show_spinner=False, max_entries=16)
def run(
    ref: data.LakeRef,
    trace: str,
    rate_scale: float,
    duration_s: float | None,
    seed: int,
    fmt: str,
) -> Generated:
    """Generate, read back and measure; DataError and UsageError propagate to the page (a
    raised exception is not cached, so fixing the input and retrying runs again)."""
    with tempfile.TemporaryDirectory(prefix="traces-generate-") as tmp:
        folder = Path(tmp)
        out = folder / f"{trace}_x{rate_scale:g}_seed{seed}{SUFFIX.get(fmt, '.csv')}"
        result = generate(
            ref.path, trace, out, fmt, duration_s=duration_s, rate_scale=rate_scale, seed=seed
        )
        name, payload, size = _payload(result.files)
        try:
            gen_arr, gen_contents = _read_back(result.files, folder)
        except NoArrivals:
            # Too short a workload to measure (the table says so too): nothing to plot.
            few = Curves(
                0.0, {}, {}, {}, {}, [f"Nothing to plot: {result.events:,} {result.unit}."]
            )
            return Generated(result, name, payload, size, few)
        src_arr = data._run(ref, lambda db: trace_arrivals(db, trace))
        src_contents = data._run(ref, lambda db: trace_contents(db, trace))
        drawn = curves(src_arr, gen_arr, result.duration_s, src_contents, gen_contents)
    return Generated(result, name, payload, size, drawn)


def fidelity_frame(table: FidelityTable) -> pd.DataFrame:
    """One row per statistic; the numbers exactly as the API computed them."""
    return pd.DataFrame(
        {
            "statistic": [escape.visible(r.name) for r in table.rows],
            "source": [r.source for r in table.rows],
            "generated": [r.generated for r in table.rows],
            "distance": [r.distance for r in table.rows],
            "tolerance": [r.tolerance for r in table.rows],
            "result": [RESULT[r.passed] for r in table.rows],
            "how": [escape.visible(r.how) for r in table.rows],
        }
    )


def fidelity_styled(table: FidelityTable) -> Any:
    """The table with every failed row in red, to be seen at a glance (a pandas Styler)."""

    def red(row: pd.Series) -> list[str]:
        return [FAILED_STYLE if row["result"] == RESULT[False] else "" for _ in row]

    return fidelity_frame(table).style.apply(red, axis=1)
