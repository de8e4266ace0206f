"""Our number beside the published one: the table every paper notebook ends with.

Not a notebook: the helper the notebooks import. A notebook builds a list of `Check`s from the
numbers the `analysis` functions returned and calls `report`, which shows the table
`metric | kind | ours | published | tolerance | ok` and attaches the same rows as JSON (MIME
type `MIME_TYPE`) to the cell's output, where notebooks/run.py reads them back from the executed
notebook and fails when a checked number is out of tolerance.

`kind` says what a row proves, so that nothing is called a reproduction that is not one:

- `reproduced`: a number or claim the notebook computed from data and compared with the paper
  (`number`, `claim`);
- `summary`: a published number the lake ingested and the notebook reads back (`summary`):
  checked, but it shows only that ingest kept the number, not that the data reproduces it;
- `not reproduced`: a published claim the data here contradicts, with both numbers
  (`not_reproduced`): a finding to report, not a failure of the code;
- `context`: shown beside the others, not checked (`context`).

`ok` is True or False for a checked row and None otherwise; run.py fails only on False.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

MIME_TYPE = "application/vnd.workload-traces.checks+json"
REPRODUCED = "reproduced"
SUMMARY = "summary"
NOT_REPRODUCED = "not reproduced"
CONTEXT = "context"

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
    kind: str = REPRODUCED  # reproduced | summary | not reproduced | context (module docstring)


def number(
    metric: str,
    ours: float | None,
    published: float,
    *,
    rel: float | None = None,
    abs_tol: float | None = None,
    fmt: str = "",
    note: str = "",
    kind: str = REPRODUCED,
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
    return Check(metric, ours, published, tolerance, ok, note, fmt, kind)


def summary(
    metric: str,
    ours: float | None,
    published: float,
    *,
    rel: float | None = None,
    abs_tol: float | None = None,
    fmt: str = "",
    note: str = "",
) -> Check:
    """A published number read back from a summary the lake ingested: checked like `number`,
    labelled a summary, since equality shows only that ingest kept the number."""
    return number(
        metric, ours, published, rel=rel, abs_tol=abs_tol, fmt=fmt, note=note, kind=SUMMARY
    )


def not_reproduced(
    metric: str, ours: Value, published: Value, criterion: str, note: str, fmt: str = ""
) -> Check:
    """A published claim the data here does not reproduce: both numbers and the criterion
    that fails, reported as a finding (ok None: run.py does not fail on it)."""
    return Check(metric, ours, published, criterion, None, note, fmt, NOT_REPRODUCED)


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
    return Check(metric, ours, published, "not checked", None, note, fmt, CONTEXT)


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


def _verdict(c: Check) -> str:
    if c.ok is None:
        return "not reproduced" if c.kind == NOT_REPRODUCED else "n/a"
    return "yes" if c.ok else "NO"


def rows(checks: list[Check]) -> list[list[str]]:
    return [
        [c.metric, c.kind, _fmt(c.ours, c.fmt), _fmt(c.published, c.fmt), c.tolerance, _verdict(c)]
        for c in checks
    ]


HEADER = ["metric", "kind", "ours", "published", "tolerance", "ok"]


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
