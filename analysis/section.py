"""What each analysis hands the report: numbers, tables, figures and findings in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import polars as pl


@dataclass
class Section:
    """One analysis of one trace.

    `numbers` is the JSON of the section (the report's `traces.NAME.<key>`), `tables` are
    shown as tables, `figures` as plotly figures, `findings` as sentences a reader can quote
    ("arrivals are burstier than Poisson at every window from 1 s to 1 h"). A section that does
    not apply to a trace is not built at all (the builder returns None), never left empty.
    """

    key: str
    title: str
    numbers: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    figures: list[go.Figure] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # caveats: modelled, resolution limits
