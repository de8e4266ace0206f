"""What each analysis hands the report, and the registry entry that names its two steps.

Every analysis topic X has a compute step, `analysis.X.compute(db, trace) -> XResult | None`
(a frozen dataclass with named, documented fields), and a presentation step,
`analysis.X_report.section(result) -> Section` (tables, figures, sentences, and the JSON
numbers built from the result's fields). `Analysis` pairs them under the report key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import plotly.graph_objects as go
import polars as pl

if TYPE_CHECKING:
    from analysis.db import LakeDB

R = TypeVar("R")


@dataclass
class Section:
    """One analysis of one trace.

    `numbers` is the JSON of the section (the report's `traces.NAME.<key>`), `tables` are
    shown as tables, `figures` as plotly figures, `findings` as sentences a reader can quote
    ("arrivals are burstier than Poisson at every window from 1 s to 1 h"). A section that does
    not apply to a trace is not built at all (compute returns None), never left empty.
    """

    key: str
    title: str
    numbers: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    figures: list[go.Figure] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # caveats: modelled, resolution limits


@dataclass(frozen=True)
class Analysis(Generic[R]):
    """One analysis topic in the report: its key (`traces.NAME.<key>` in the JSON), its
    compute step and its presentation step."""

    key: str
    compute: Callable[[LakeDB, str], R | None]
    section: Callable[[R], Section]

    def run(self, db: LakeDB, trace: str) -> tuple[R, Section] | None:
        """Both steps on one trace: (result, section), or None when the analysis does not
        apply to it."""
        result = self.compute(db, trace)
        if result is None:
            return None
        return result, self.section(result)
