"""Shared pieces of the presentation step: how numbers, missing values, groups and time read.

Every table of the report prints each column in one format (`column_formats`, used by the HTML
and Markdown tables and the CLI's metric tables):

- integers as integers with thousands separators: integer columns, and float columns of a count
  (`is_count`: n, rows, events, jobs, ...) whose every value is whole;
- every other number column with ONE number of decimals for all its cells, enough for its
  smallest nonzero magnitude to keep three significant digits (fewer when fewer show every value
  exactly; at least one when that magnitude is below 10), so a share of 1 reads "1.0000"
  beside "0.0165", never "1" beside "0.01649";
- a column that would need more than MAX_DECIMALS decimals, or holds a value from 1e12 up, all
  in scientific notation with one mantissa width, never mixed with plain numbers;
- a missing value (None, NaN) as an em dash whose reason the section says in a note.

Figures of traces with relative time (anchored at 1970-01-01) are plotted against the time since
the trace's start, never as 1970 dates (`time_axis`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

MISSING = "\u2014"  # em dash: a value that does not exist, with the reason in a note
SIGNIFICANT = 4  # digits of a float written alone (`plain`), in sentences
COLUMN_SIGNIFICANT = 3  # digits the smallest nonzero value of a table column keeps
MAX_DECIMALS = 6  # beyond this a column is in scientific notation
LARGEST_PLAIN = 1e12  # a column with a value from here up is in scientific notation too
SCIENTIFIC_DIGITS = 2  # decimals of the mantissa: 1.23e-07
# Last words of a column's name that make it a count (printed as an integer when every value
# is whole); "n" and "num" count as a first word too (n_timed, num_gpus).
# fmt: off
COUNT_WORDS = frozenset((
    "n", "rows", "events", "jobs", "tasks", "requests", "invocations", "machines", "nodes",
    "cores", "cpus", "gpus", "windows", "points", "samples", "clients", "functions", "sessions",
    "turns", "iterations", "workers", "runs", "instances", "entities", "apps", "pods", "count",
    "flagged", "scored",
))
# fmt: on
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and not math.isfinite(value))


def rounded(value: Any, digits: int = 6) -> Any:
    """Floats to `digits` significant digits, in dicts and lists too; NaN and inf to None.

    Parallel float sums in DuckDB may differ in the last bits between runs; numbers that are
    rounded here are the same for the same lake.
    """
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v) or v == 0:
            return v if math.isfinite(v) else None
        return round(v, digits - 1 - math.floor(math.log10(abs(v))))
    return value


def plain(value: float, significant: int = SIGNIFICANT) -> str:
    """`value` to `significant` digits without an exponent and without trailing zeros, with
    thousands separators: 1,021, 129.2, 0.2632, 0.000632."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}" if value else "0"
    decimals = max(0, significant - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def is_count(name: str) -> bool:
    """Whether a column (or metric) named `name` counts things: rows, events, n_timed, GPUs."""
    words = re.findall(r"[a-z]+", name.lower())
    return bool(words) and (words[-1] in COUNT_WORDS or words[0] in ("n", "num"))


def _shows_exactly(values: Sequence[float], decimals: int) -> bool:
    return all(abs(v - round(v, decimals)) <= 1e-9 * max(1.0, abs(v)) for v in values)


def column_decimals(values: Sequence[Any]) -> int | None:
    """Decimals for every cell of a float column, or None for scientific notation.

    Enough for the smallest nonzero magnitude to keep COLUMN_SIGNIFICANT digits, or fewer when
    fewer show every value exactly; at least one when that magnitude is below 10, so that a
    share column of 0 and 1 still reads as shares (0.0, 1.0)."""
    finite = [abs(float(v)) for v in values if not is_missing(v)]
    nonzero = [v for v in finite if v > 0]
    if not nonzero:
        return 1
    if max(nonzero) >= LARGEST_PLAIN:
        return None
    need = COLUMN_SIGNIFICANT - 1 - math.floor(math.log10(min(nonzero)))
    floor = 1 if need >= 2 else 0
    exact = next((d for d in range(floor, max(floor, need) + 1) if _shows_exactly(finite, d)), None)
    decimals = max(floor, need) if exact is None else exact
    return None if decimals > MAX_DECIMALS else decimals


def number_format(values: Sequence[Any], count: bool = False) -> Callable[[Any], str]:
    """One format for a column of numbers `values` (see the module docstring); `count` when the
    column counts things, so that whole values read as integers. Missing values are not handled
    here (`column_formats` shows them as MISSING)."""
    finite = [v for v in values if not is_missing(v)]
    if count and all(float(v).is_integer() for v in finite):
        return lambda v: f"{round(v):,}"
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in finite):
        return "{:,}".format
    decimals = column_decimals(finite)
    if decimals is None:
        return f"{{:.{SCIENTIFIC_DIGITS}e}}".format  # the whole column, never beside plain
    return f"{{:,.{decimals}f}}".format


def _or_missing(fmt: Callable[[Any], str]) -> Callable[[Any], str]:
    def cell(value: Any) -> str:
        return MISSING if is_missing(value) else fmt(value)

    return cell


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


def column_formats(df: pl.DataFrame) -> dict[str, Callable[[Any], str]]:
    """One formatter per column of `df`, each giving MISSING for None and NaN."""
    out: dict[str, Callable[[Any], str]] = {}
    for name, dtype in df.schema.items():
        base: Callable[[Any], str]
        if dtype.is_integer():
            base = "{:,}".format
        elif dtype.is_float():
            base = number_format(df[name].to_list(), count=is_count(name))
        elif dtype == pl.Boolean:
            base = _yes_no
        else:
            base = str
        out[name] = _or_missing(base)
    return out


def formatted_rows(df: pl.DataFrame, limit: int | None = None) -> list[list[str]]:
    """The rows of `df` (the first `limit`) as text, one format per column; not escaped."""
    formats = column_formats(df)
    part = df if limit is None else df.head(limit)
    return [
        [formats[c](v) for c, v in zip(part.columns, row, strict=True)] for row in part.iter_rows()
    ]


def n_text(n: int | float, unknown: int | None = None) -> str:
    """A group's size as a table shows it: 'n=71,515', or with the rows of unknown status
    beside it, 'n=71,515, 3,408 unknown' (n counts every row of the group)."""
    text = f"n={n:,.0f}"
    if unknown:
        text += ", all unknown" if unknown == n else f", {unknown:,} unknown"
    return text


def with_n(label: str, n: int | float | None, unknown: int | None = None) -> str:
    """A group's label with its size: 'u1 (n=2)', 'u1 (n=789, 62 unknown)'."""
    return label if n is None else f"{label} ({n_text(n, unknown)})"


def short(name: str, width: int = 24) -> str:
    return name if len(name) <= width else name[: width - 3] + "..."


def since_start_unit(span_s: float) -> tuple[str, float]:
    """(unit name, seconds per unit) to show a span of `span_s` seconds as time since start."""
    if span_s <= 3 * 3600:
        return "minutes", 60.0
    if span_s <= 4 * 86400:
        return "hours", 3600.0
    return "days", 86400.0


def time_axis(times: Sequence[datetime] | pl.Series, time_origin: str) -> tuple[list[Any], str]:
    """x values and the axis title for points in time.

    Absolute traces: the UTC datetimes, titled "time (UTC)". Relative traces (anchored at
    1970-01-01): the time since the trace's start in minutes, hours or days, never 1970 dates.
    """
    values = list(times)
    if time_origin == "absolute":
        return values, "time (UTC)"
    offsets = [((t if t.tzinfo else t.replace(tzinfo=UTC)) - EPOCH).total_seconds() for t in values]
    unit, size = since_start_unit(max(offsets, default=0.0))
    return [o / size for o in offsets], f"{unit} since the trace's start"


def _value(v: Any) -> bool:
    """Whether a point's coordinate can be drawn: present, and finite when a number."""
    if v is None:
        return False
    if isinstance(v, int | float | np.integer | np.floating):
        return math.isfinite(float(v))
    return True


def draws_something(fig: go.Figure) -> bool:
    """Whether plotly would draw a mark: a bar, marker or text at a point with a value, or a
    line through at least two such points (a lone point of a line shows nothing)."""
    for trace in fig.data:
        spec = trace.to_plotly_json()
        xs, ys = spec.get("x"), spec.get("y")
        if xs is None and ys is None:
            return True  # a kind of trace without x/y (pie, heatmap): trust it
        values = ys if ys is not None else xs
        if trace.type == "bar" and trace.orientation == "h" and xs is not None:
            values = xs
        points = sum(1 for v in values if _value(v))
        mode = trace.mode if trace.type == "scatter" else None
        if points >= (2 if mode == "lines" else 1):
            return True
    return False


def drawable(figures: Sequence[go.Figure]) -> list[go.Figure]:
    """The figures that draw something: a figure with nothing to draw (a one-row trace's CDF)
    is left out rather than shown as empty axes."""
    return [f for f in figures if draws_something(f)]
