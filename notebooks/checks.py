"""Our number beside the published one: the table every paper notebook ends with.

Not a notebook: the helper the notebooks import. A notebook builds a list of `Check`s from the
numbers the `analysis` functions returned and calls `report`, which shows the table
`metric | ours | published | tolerance | ok` and attaches the same rows as JSON (MIME type
`MIME_TYPE`) to the cell's output, where notebooks/run.py reads them back from the executed
notebook and fails when a checked number is out of tolerance.

`ok` is True or False for a checked number or claim, and None for a row shown for context only
(a published figure the data here cannot reach, a fixture): run.py fails only on False.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

MIME_TYPE = "application/vnd.workload-traces.checks+json"

Value = float | int | str | None


@dataclass(frozen=True)
class Check:
    metric: str
    ours: Value
    published: Value
    tolerance: str
    ok: bool | None
    note: str = ""
    fmt: str = ""  # format spec for numbers in the table, e.g. ",.0f" or ".1%"


def number(
    metric: str,
    ours: float | None,
    published: float,
    *,
    rel: float | None = None,
    abs_tol: float | None = None,
    fmt: str = "",
    note: str = "",
) -> Check:
    """A number checked against a published one, within a relative or absolute tolerance."""
    if (rel is None) == (abs_tol is None):
        raise ValueError("give exactly one of rel and abs_tol")
    if rel is not None:
        allowed = rel * abs(published)
        tolerance = f"±{rel:.1%}".replace(".0%", "%")
    else:
        allowed = float(abs_tol)  # type: ignore[arg-type]
        tolerance = f"±{allowed:g}" if allowed else "exact"
    ok = ours is not None and math.isfinite(ours) and abs(ours - published) <= allowed + 1e-12
    return Check(metric, ours, published, tolerance, ok, note, fmt)


def claim(
    metric: str,
    ours: Value,
    published: str,
    criterion: str,
    ok: bool,
    note: str = "",
    fmt: str = "",
) -> Check:
    """A qualitative published claim, checked by a criterion stated in words."""
    return Check(metric, ours, published, criterion, bool(ok), note, fmt)


def context(metric: str, ours: Value, published: Value, note: str, fmt: str = "") -> Check:
    """Shown beside the others but not checked; `note` says why."""
    return Check(metric, ours, published, "not checked", None, note, fmt)


def _fmt(value: Value, fmt: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    if fmt:
        return format(value, fmt)
    if isinstance(value, int) or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else "yes" if ok else "NO"


def rows(checks: list[Check]) -> list[list[str]]:
    return [
        [c.metric, _fmt(c.ours, c.fmt), _fmt(c.published, c.fmt), c.tolerance, _verdict(c.ok)]
        for c in checks
    ]


HEADER = ["metric", "ours", "published", "tolerance", "ok"]


def markdown(checks: list[Check]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(checks)]
    notes = [f"- **{c.metric}**: {c.note}" for c in checks if c.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def text(checks: list[Check]) -> str:
    """The table in plain text, columns padded, for logs and text-only viewers."""
    table = [HEADER, *rows(checks)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    return "\n".join(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table)


def _plain(value: Any) -> Any:
    """JSON's view of a value: non-finite floats become None, numpy scalars Python numbers."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def payload(notebook: str, checks: list[Check]) -> dict[str, Any]:
    return {
        "notebook": notebook,
        "checks": [{k: _plain(v) for k, v in asdict(c).items()} for c in checks],
    }


def report(notebook: str, checks: list[Check]) -> None:
    """Show the table (Markdown, with plain text beside it) and attach the rows for run.py."""
    from IPython.display import display

    print(text(checks))
    data = json.loads(json.dumps(payload(notebook, checks), allow_nan=False))
    display({"text/markdown": markdown(checks), MIME_TYPE: data}, raw=True)
    failed = [c.metric for c in checks if c.ok is False]
    print("\nout of tolerance: " + ", ".join(failed) if failed else "\nall checked numbers ok")
