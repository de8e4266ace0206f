"""Cross-trace comparison: the headline figures of every trace side by side."""

from __future__ import annotations

from typing import Any

import polars as pl

from analysis.db import LakeDB
from analysis.section import Section

COLUMNS = {
    "trace": pl.String,
    "family": pl.String,
    "events": pl.Int64,
    "rate_per_s": pl.Float64,
    "iat_cv": pl.Float64,
    "hurst": pl.Float64,
    "failure_ratio": pl.Float64,
    "input_p50": pl.Float64,
    "output_p50": pl.Float64,
    "duration_p50_s": pl.Float64,
}


def _num(numbers: dict[str, Any], *path: str) -> float | None:
    value: Any = numbers
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


def _hurst(numbers: dict[str, Any]) -> float | None:
    values = [v for v in (numbers.get("hurst") or {}).values() if isinstance(v, int | float)]
    return sum(values) / len(values) if values else None


def _failure_ratio(numbers: dict[str, Any]) -> float | None:
    ratios = numbers.get("ratio_by_status") or {}
    if not ratios:
        return None
    return float(sum(v for k, v in ratios.items() if k not in ("ok", "unknown")))


def headline(db: LakeDB, sections: dict[str, list[Section]]) -> pl.DataFrame:
    """One row per trace that has at least one section, built from the sections' numbers.

    Median durations come from the lake itself (requests.duration_s, jobs.run_s): no section
    owns them and every trace with durations should show one.
    """
    medians = db.quantiles("compare_duration_values", (0.5,))
    durations = dict(zip(medians["grp"].to_list(), medians["p50"].to_list(), strict=True))
    rows = []
    for trace, secs in sorted(sections.items()):
        if not secs:
            continue
        by_key = {s.key: s.numbers for s in secs}
        burst = by_key.get("burstiness", {})
        tokens = by_key.get("tokens", {})
        events = burst.get("events")
        rows.append(
            {
                "trace": trace,
                "family": db.info(trace).family,
                "events": int(events) if isinstance(events, int | float) else None,
                "rate_per_s": _num(burst, "rate_per_s"),
                "iat_cv": _num(burst, "iat_cv"),
                "hurst": _hurst(burst),
                "failure_ratio": _failure_ratio(by_key.get("failures", {})),
                "input_p50": _num(tokens, "input_p50"),
                "output_p50": _num(tokens, "output_p50"),
                "duration_p50_s": durations.get(trace),
            }
        )
    return pl.DataFrame(rows, schema=COLUMNS)
