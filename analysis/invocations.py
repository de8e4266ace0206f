"""How often serverless applications and functions are invoked: the frequency distribution.

Shahrad et al. ("Serverless in the Wild", USENIX ATC'20, section 3) characterize Azure Functions
by each application's average invocation rate: most are invoked rarely, a few very often, over
eight orders of magnitude. Rates here are invocations over the span of the whole trace, from the
`invocations` view (requests, or per-interval counts in `series`), per application or function.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from analysis.coldstarts import source_of
from analysis.db import LakeDB

LEVELS = ("app", "function")


def frequency(db: LakeDB, trace: str, level: str = "app") -> pl.DataFrame:
    """Invocations per application or function, busiest first.

    Columns: entity, invocations, active_rows (requests, or intervals with invocations), span_s
    (the trace's), per_minute and per_day (average rates over the span). Empty for traces
    without timed invocations.
    """
    if level not in LEVELS:
        raise ValueError(f"level is one of {LEVELS}, not {level!r}")
    src = source_of(db, trace)
    if src not in ("series", "requests"):
        return pl.DataFrame()
    df = db.query_rounded("invocations_frequency", source=src, trace=trace, level=level)
    span = pl.col("span_s").cast(pl.Float64)
    return df.with_columns(
        (pl.col("invocations") / span * 60.0).alias("per_minute"),
        (pl.col("invocations") / span * 86400.0).alias("per_day"),
    )


def summary(freq: pl.DataFrame) -> dict[str, Any]:
    """Headline numbers of a `frequency` table.

    entities; span_s; share of entities invoked on average at most once per hour and at most
    once per minute; orders of magnitude between the busiest and the rarest rate; share of
    invocations of the busiest 10% and 20% of entities.
    """
    if freq.is_empty():
        return {"entities": 0}
    n = freq.height
    rates = freq["per_minute"]
    total = float(freq["invocations"].sum())
    ranked = freq.sort("invocations", descending=True)["invocations"]
    lo, hi = float(rates.min()), float(rates.max())  # type: ignore[arg-type]
    return {
        "entities": n,
        "span_s": float(freq["span_s"][0]),
        "at_most_once_per_hour": float((rates <= 1.0 / 60.0).sum()) / n,
        "at_most_once_per_minute": float((rates <= 1.0).sum()) / n,
        "orders_of_magnitude": math.log10(hi / lo) if lo > 0 else None,
        "top10_share": float(ranked.head(max(1, math.ceil(0.1 * n))).sum()) / total,
        "top20_share": float(ranked.head(max(1, math.ceil(0.2 * n))).sum()) / total,
    }
