"""Presentation of `analysis.lineage` (derived copies) for the report."""

from __future__ import annotations

from typing import Any

import polars as pl

from analysis.describe import count, pct
from analysis.lineage import ARRIVAL_MATCH, LineageResult, Match
from analysis.section import Section


def _clock(m: Match) -> str:
    if m.resolution_s is None:
        return "on tokens only (one of the two has no timestamps)"
    step = f"{m.resolution_s * 1e6:g} µs" if m.resolution_s < 1e-3 else f"{m.resolution_s:g} s"
    return (
        f"and {count(m.same_arrivals or 0)} ({pct((m.same_arrivals or 0) / m.rows)}) also on "
        f"the arrival offset from the first request, at {step}"
    )


def _findings(result: LineageResult) -> list[str]:
    by = {m.other: m for m in result.matches}
    out = []
    if result.copy_of:
        m = by[result.copy_of]
        out.append(
            f"{result.trace} is a derived copy of {result.copy_of}: all {count(m.rows)} requests "
            f"match on input and output tokens, {_clock(m)}. Its characterization repeats that "
            "trace's and is not an independent workload."
        )
    for other in result.copies:
        m = by[other]
        out.append(
            f"{other} is a derived copy of this trace: the same {count(m.rows)} requests "
            f"(tokens, {_clock(m)})."
        )
    for other in result.identical_to:
        m = by[other]
        out.append(
            f"{other} holds the same {count(m.rows)} requests as this trace (tokens, {_clock(m)}); "
            "nothing in the data tells which came first."
        )
    return out


def numbers(result: LineageResult) -> dict[str, Any]:
    return {
        "copy_of": result.copy_of,
        "copies": list(result.copies),
        "identical_to": list(result.identical_to),
        "matches": {
            m.other: {
                "rows": m.rows,
                "same_tokens": m.same_tokens,
                "same_arrivals": m.same_arrivals,
                "resolution_s": m.resolution_s,
            }
            for m in result.matches
        },
    }


def section(result: LineageResult) -> Section:
    table = pl.DataFrame(
        [
            {
                "trace": m.other,
                "requests": m.rows,
                "same tokens": m.same_tokens,
                "same arrival offset": m.same_arrivals,
            }
            for m in result.matches
        ],
        schema_overrides={"same arrival offset": pl.Int64},
    )
    title = "Derived copy" if result.copy_of else "Derived copies and duplicates"
    return Section(
        key="lineage",
        title=title,
        numbers=numbers(result),
        tables={"Traces with the same requests": table},
        findings=_findings(result),
        notes=[
            "Compared on content, not names: requests as multisets of (input, output tokens) and "
            "arrival offset from each trace's first request at the coarser clock of the two; a "
            f"copy matches every row on tokens and at least {pct(ARRIVAL_MATCH, 0)} on arrival. "
            "The original is the trace with absolute time."
        ],
    )
