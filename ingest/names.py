"""Trace names are identifiers, never paths, SQL or markup.

A trace name becomes a folder (`trace=<name>`), a manifest file name, a SQL literal and a label
in reports, so it is checked once, here, before anything touches the disk. Names a user types
(`--trace`) are refused when they break the rule; names the tool derives from file names are
made to fit it.
"""

from __future__ import annotations

import re

from ingest.errors import UsageError

MAX_LENGTH = 64
_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
RULE_TEXT = (
    f"a trace name is 1 to {MAX_LENGTH} characters: letters, digits, '_', '-' and '.', "
    "starting with a letter or digit"
)


class InvalidTraceName(UsageError):
    """A trace name that could escape the lake or break a query or a page."""


def is_valid(name: str) -> bool:
    return len(name) <= MAX_LENGTH and _RULE.fullmatch(name) is not None


def check_trace_name(name: str) -> str:
    """`name` itself, or InvalidTraceName saying the rule."""
    if not is_valid(name):
        shown = name if len(name) <= 80 else name[:80] + "..."
        raise InvalidTraceName(
            f"{shown!r} is not a valid trace name: {RULE_TEXT}. "
            f"Pass another --trace, e.g. --trace {derive_trace_name(name, 'my_trace')}."
        )
    return name


def derive_trace_name(text: str, fallback: str) -> str:
    """A valid name made from `text` (a file stem, say): other characters become '_'."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.-")[:MAX_LENGTH].rstrip("_.-")
    return name if is_valid(name) else fallback
