"""Cached calls into `analysis` and `predictors`: everything the pages show comes from here.

Each function is a thin wrapper around one analysis or predictor call. Results are memoized
per lake state: `LakeRef` is the lake path plus the name and modification time of every
manifest, so re-ingesting a trace (which rewrites its manifest) retires every cached result of
the old lake, while switching pages or moving a widget back to a value seen before costs a
dictionary lookup.

Two caches, on purpose:
- `st.cache_data` for tables, numbers and lists: each hit hands the page its own copy.
- `st.cache_resource` for analysis results, `Section`s and the open `LakeDB`: results are
  immutable, and sections hold plotly figures, and
  unpickling a section's figures (what a cache_data hit does) costs 0.1-0.5 s each time, which
  is most of a page's time once its analyses are cached. Pages treat cached sections as
  read-only; anything a page would change on a figure is done here, before caching.

One DuckDB connection serves every session of the server, and DuckDB connections are not
thread-safe while Streamlit runs each session in its own thread: calls go through a lock.
Only cache misses take it, so a slow analysis in one tab never blocks cached pages in another.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
import polars as pl
import streamlit as st

from analysis import (
    burstiness,
    burstiness_report,
    coldstarts,
    coldstarts_report,
    compare,
    failures,
    failures_report,
    tokens,
    tokens_report,
)
from analysis.burstiness import Burstiness, BurstinessResult
from analysis.coldstarts import ColdStartsResult
from analysis.db import LakeDB, TraceInfo
from analysis.failures import FailuresResult
from analysis.section import Section
from analysis.tokens import TokensResult
from ingest.errors import LakeError, NoLake
from ingest.lake import MANIFESTS, default_lake_path
from predictors.common import Predictor, load, read_card

T = TypeVar("T")
GROUP_CHOICES = 10  # services/tenants offered per grouping column on the arrivals page
MODELS_ENV = "TRACES_MODELS"
DEFAULT_MODELS = "models"


class LakeRef(NamedTuple):
    """A lake as cache key: its path and (manifest file, mtime in ns) for every trace."""

    path: str
    stamp: tuple[tuple[str, int], ...]


def lake_path() -> Path:
    """The lake this server shows: $TRACES_LAKE (set by `traces dashboard --lake`), else ./lake."""
    return default_lake_path().expanduser().resolve()


def lake_ref(path: Path | None = None) -> LakeRef:
    root = path or lake_path()
    folder = root / MANIFESTS
    stamp = (
        tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.glob("*.json")))
        if folder.is_dir()
        else ()
    )
    return LakeRef(str(root), stamp)


class _Handle:
    """A LakeDB and the lock that serializes its use across sessions."""

    def __init__(self, path: str) -> None:
        self.db = LakeDB(Path(path))
        self.lock = threading.RLock()


@st.cache_resource(max_entries=2, show_spinner=False)
def _handle(path: str, stamp: tuple[tuple[str, int], ...]) -> _Handle:
    return _Handle(path)


@contextmanager
def _db(ref: LakeRef) -> Iterator[LakeDB]:
    handle = _handle(ref.path, ref.stamp)
    with handle.lock:
        yield handle.db


def _run(ref: LakeRef, fn: Callable[[LakeDB], T]) -> T:
    with _db(ref) as db:
        return fn(db)


def open_lake(ref: LakeRef) -> str | None:
    """None when the lake opens, else why not (the LakeError's message)."""
    try:
        _handle(ref.path, ref.stamp)
    except (LakeError, NoLake) as e:
        return str(e)
    return None


# ---------------------------------------------------------------- the lake


@st.cache_data(show_spinner=False)
def manifests(ref: LakeRef) -> list[dict[str, Any]]:
    return _run(ref, lambda db: db.lake.manifests())


@st.cache_data(show_spinner=False)
def infos(ref: LakeRef) -> dict[str, TraceInfo]:
    return _run(ref, lambda db: dict(db.infos))


def traces(ref: LakeRef) -> list[str]:
    return sorted(infos(ref))


# ---------------------------------------------------------------- arrivals and burstiness


@st.cache_data(show_spinner=False)
def arrival_traces(ref: LakeRef) -> list[str]:
    """Traces with enough timed arrivals to measure (requests, jobs or invocation counts)."""

    def enough(db: LakeDB, trace: str) -> bool:
        src = burstiness.event_source(db, trace)
        if src is None:
            return False
        return src.counts_only or db.info(trace).tables.get(src.table, 0) >= burstiness.MIN_EVENTS

    return _run(ref, lambda db: [t for t in db.traces() if enough(db, t)])


@st.cache_data(show_spinner=False)
def arrival_groups(ref: LakeRef, trace: str) -> pl.DataFrame:
    """The largest services / tenants / job types: dim, group, events, share, groups."""
    return _run(ref, lambda db: burstiness.top_groups(db, trace, GROUP_CHOICES))


def _zoomable(section: Section | None) -> Section | None:
    """A range slider under the rate-over-time figure (the first one) for zooming in time."""
    if section is not None and section.figures:
        section.figures[0].update_xaxes(rangeslider={"visible": True, "thickness": 0.08})
    return section


@st.cache_resource(max_entries=64, show_spinner=False)
def burstiness_result(ref: LakeRef, trace: str) -> BurstinessResult | None:
    return _run(ref, lambda db: burstiness.compute(db, trace))


@st.cache_resource(max_entries=64, show_spinner=False)
def burstiness_section(ref: LakeRef, trace: str) -> Section | None:
    result = burstiness_result(ref, trace)
    return None if result is None else _zoomable(burstiness_report.section(result))


@st.cache_resource(max_entries=64, show_spinner=False)
def burstiness_group_result(ref: LakeRef, trace: str, dim: str, value: str) -> Burstiness | None:
    return _run(ref, lambda db: burstiness.compute_group(db, trace, (dim, value)))


@st.cache_resource(max_entries=64, show_spinner=False)
def burstiness_group(ref: LakeRef, trace: str, dim: str, value: str) -> Section | None:
    result = burstiness_group_result(ref, trace, dim, value)
    return None if result is None else _zoomable(burstiness_report.group_section(result))


# ---------------------------------------------------------------- token lengths


@st.cache_data(show_spinner=False)
def token_traces(ref: LakeRef) -> list[str]:
    """Traces whose requests carry input or output token counts."""

    def pick(db: LakeDB) -> list[str]:
        counts = tokens.requests_with_lengths(db)
        return [t for t in db.traces() if db.has(t, "requests") and counts.get(t)]

    return _run(ref, pick)


@st.cache_resource(max_entries=64, show_spinner=False)
def tokens_result(ref: LakeRef, trace: str) -> TokensResult | None:
    return _run(ref, lambda db: tokens.compute(db, trace))


@st.cache_resource(max_entries=64, show_spinner=False)
def tokens_section(ref: LakeRef, trace: str) -> Section | None:
    result = tokens_result(ref, trace)
    return None if result is None else tokens_report.section(result)


@st.cache_resource(max_entries=64, show_spinner=False)
def token_lengths(ref: LakeRef, trace: str) -> tokens.LengthCounts:
    """Value counts of input and output lengths (one scan): medians and CDFs for compare."""
    return _run(ref, lambda db: tokens.length_counts(db, trace))


@st.cache_data(show_spinner=False)
def token_cdf(ref: LakeRef, trace: str, side: str) -> tuple[list[float], list[float]]:
    """(lengths, share of requests at or below) for one side, input or output."""
    x, f = token_lengths(ref, trace).cdf(side)
    return np.asarray(x, dtype=float).tolist(), np.asarray(f, dtype=float).tolist()


# ---------------------------------------------------------------- failures


@st.cache_data(show_spinner=False)
def failure_traces(ref: LakeRef) -> list[str]:
    """Traces where something ended unsuccessfully, or that publish final-state shares."""

    def failed(db: LakeDB, trace: str) -> bool:
        if failures.unit_of(db, trace) is not None:
            counts = failures.breakdown(db, trace, "all", top=0)
            if counts.filter(pl.col("status").is_in(failures.UNSUCCESSFUL))["n"].sum():
                return True
        return db.has(trace, "summaries") and not failures.published(db, trace).is_empty()

    return _run(ref, lambda db: [t for t in db.traces() if failed(db, t)])


@st.cache_resource(max_entries=64, show_spinner=False)
def failures_result(ref: LakeRef, trace: str) -> FailuresResult | None:
    return _run(ref, lambda db: failures.compute(db, trace))


@st.cache_resource(max_entries=64, show_spinner=False)
def failures_section(ref: LakeRef, trace: str) -> Section | None:
    result = failures_result(ref, trace)
    return None if result is None else failures_report.section(result)


@st.cache_data(show_spinner=False)
def failure_dims(ref: LakeRef, trace: str) -> list[str]:
    """What the failures page can break a trace down by: group columns, sizes and hour of day
    that split the trace into two groups or more."""

    def dims(db: LakeDB) -> list[str]:
        unit = failures.unit_of(db, trace)
        if unit is None:
            return []
        out = [*unit.groups, *(c for c, _ in unit.sizes)]
        return out + (["hour"] if db.info(trace).time_origin == "absolute" else [])

    def splits(dim: str) -> bool:
        table = failure_ratios(ref, trace, dim)
        if table.is_empty():
            return False
        groups = table["grp"].cast(pl.String).to_list()
        return len([g for g in groups if g not in ("(other)", "(unknown)")]) >= 2

    return [d for d in _run(ref, dims) if splits(d)]


@st.cache_data(show_spinner=False)
def failure_ratios(ref: LakeRef, trace: str, dim: str) -> pl.DataFrame:
    """One row per group of `dim`: n (rows), unknown_rows, and the unsuccessful share and the
    share of each known status, of the group's rows with a known status."""
    size_base = {c: b for u in (failures.JOBS, failures.REQUESTS) for c, b in u.sizes}

    def table(db: LakeDB) -> pl.DataFrame:
        top = 0 if dim in size_base or dim == "hour" else failures.TOP
        long = failures.breakdown(db, trace, dim, top)
        if long.is_empty():
            return long
        out = failures.ratio_table(long)
        if dim == "hour":
            known = out.filter(pl.col("grp") != "(unknown)")
            return known.with_columns(pl.col("grp").cast(pl.Int64)).sort("grp")
        if dim in size_base:
            known = out.filter(pl.col("grp") != "(unknown)")
            labels = [failures.size_label(int(g), size_base[dim]) for g in known["grp"]]
            order = known["grp"].cast(pl.Int64).arg_sort()
            return known.with_columns(pl.Series("grp", labels))[order]
        return out

    return _run(ref, table)


# ---------------------------------------------------------------- cold starts


@st.cache_data(show_spinner=False)
def coldstart_traces(ref: LakeRef) -> dict[str, str]:
    """trace -> where its cold starts come from: recorded, or modelled from series/requests."""

    def pick(db: LakeDB) -> dict[str, str]:
        out = {}
        for t in db.traces():
            src = coldstarts.source_of(db, t)
            if src is not None:
                out[t] = src
        return out

    return _run(ref, pick)


@st.cache_resource(max_entries=64, show_spinner=False)
def coldstarts_result(ref: LakeRef, trace: str) -> ColdStartsResult | None:
    return _run(ref, lambda db: coldstarts.compute(db, trace))


@st.cache_resource(max_entries=64, show_spinner=False)
def coldstarts_section(ref: LakeRef, trace: str) -> Section | None:
    result = coldstarts_result(ref, trace)
    return None if result is None else coldstarts_report.section(result)


@st.cache_data(show_spinner=False)
def recorded_coldstarts(ref: LakeRef, trace: str, dim: str) -> pl.DataFrame:
    return _run(ref, lambda db: coldstarts.recorded(db, trace, dim))


@st.cache_data(show_spinner=False, max_entries=512)
def keepalive(ref: LakeRef, trace: str, window_min: float) -> dict[str, Any] | None:
    """Modelled outcome of one fixed keep-alive window over every function (one SQL pass)."""
    table = _run(ref, lambda db: coldstarts.keepalive_fixed(db, trace, (window_min,)))
    return table.row(0, named=True) if table.height else None


# ---------------------------------------------------------------- comparison


# The compare page reads trace-level figures only: it computes them without the groups, fits
# and breakdowns of the full analyses (the same numbers, a fraction of the scans), so a first
# visit to it does not wait for every other page's work.


@st.cache_resource(max_entries=64, show_spinner=False)
def compare_burstiness(ref: LakeRef, trace: str) -> BurstinessResult | None:
    """The trace's burstiness without groups or inter-arrival fits."""
    return _run(ref, lambda db: burstiness.compute(db, trace, groups=False, fits=False))


@st.cache_resource(max_entries=64, show_spinner=False)
def compare_failures(ref: LakeRef, trace: str) -> FailuresResult | None:
    """The trace's final-state counts (or published shares) without breakdowns."""
    return _run(ref, lambda db: failures.compute(db, trace, breakdowns=False))


@st.cache_data(show_spinner=False)
def headline(ref: LakeRef, names: tuple[str, ...]) -> pl.DataFrame:
    """compare.headline over the cached trace-level results of `names`."""
    with_tokens = set(token_traces(ref))
    results = {
        t: compare.TraceResults(
            burstiness=compare_burstiness(ref, t),
            failures=compare_failures(ref, t),
            tokens=token_lengths(ref, t) if t in with_tokens else None,
        )
        for t in names
    }
    return _run(ref, lambda db: compare.headline(db, results))


def comparable_traces(ref: LakeRef) -> list[str]:
    """Traces at least one comparison figure applies to."""
    names = set(arrival_traces(ref)) | set(token_traces(ref)) | set(failure_traces(ref))
    return sorted(names)


# ---------------------------------------------------------------- predictors


def models_root() -> Path:
    return Path(os.environ.get(MODELS_ENV, DEFAULT_MODELS)).expanduser().resolve()


def model_dirs(root: Path) -> list[str]:
    """Folders under `root` (and `root` itself) that hold a model card, as paths."""
    if not root.is_dir():
        return []
    found = [root] if (root / "model.json").is_file() else []
    found += sorted(p.parent for p in root.glob("*/model.json"))
    return [str(p) for p in found]


def _mtime(model_dir: str) -> int:
    card = Path(model_dir) / "model.json"
    return card.stat().st_mtime_ns if card.is_file() else 0


@st.cache_data(show_spinner=False)
def _card(model_dir: str, mtime: int) -> dict[str, Any]:
    return read_card(Path(model_dir))


def card(model_dir: str) -> dict[str, Any]:
    return _card(model_dir, _mtime(model_dir))


@st.cache_resource(max_entries=8, show_spinner=False)
def _predictor(model_dir: str, mtime: int) -> Predictor:
    return load(model_dir)


def predict(model_dir: str, row: dict[str, Any]) -> pl.DataFrame:
    """The model's outputs for one row of features (onnxruntime, as a scheduler would run it)."""
    return _predictor(model_dir, _mtime(model_dir)).predict_frame([row])


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
