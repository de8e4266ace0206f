"""Shared pieces of the presentation step: how numbers, missing values, groups and time read.

Every table of the report formats each column one way (`column_formats`): integers (and float
columns holding only whole numbers) as integers with thousands separators, other floats to four
significant digits written plainly (or, when a column holds values below 1e-6 or from 1e12 up,
the whole column in scientific notation, never mixed), and a missing value (None, NaN) as an em
dash whose reason the section says in a note. Figures of traces with relative time (anchored at
1970-01-01) are plotted against the time since the trace's start, never as 1970 dates
(`time_axis`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

MISSING = "\u2014"  # em dash: a value that does not exist, with the reason in a note
SIGNIFICANT = 4  # digits of a float in a table
# A float column with a value outside [SMALLEST_PLAIN, LARGEST_PLAIN) is all in scientific
# notation: written plainly it would need too many digits.
SMALLEST_PLAIN = 1e-6
LARGEST_PLAIN = 1e12
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


def _float_format(values: Sequence[float]) -> Callable[[Any], str]:
    finite = [abs(v) for v in values if not is_missing(v)]
    if all(float(v).is_integer() for v in finite):
        return "{:,.0f}".format
    nonzero = [v for v in finite if v > 0]
    if min(nonzero) < SMALLEST_PLAIN or max(nonzero) >= LARGEST_PLAIN:
        return "{:.2e}".format  # the whole column, never beside plain numbers
    return plain


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
            base = _float_format(df[name].to_list())
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


def with_n(label: str, n: int | float | None) -> str:
    """A group's label with its size: 'u1 (n=2)'."""
    return label if n is None else f"{label} (n={n:,.0f})"


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
