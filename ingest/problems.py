"""Row-level problems: stable slugs, and the table rejected rows are kept in.

Slugs are part of the interface (manifests count problems by slug, tests and users grep for
them), so they never change meaning once released.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

PROBLEMS: dict[str, str] = {
    "unparsable-value": "a field could not be read as the type the source declares",
    "negative-token-count": "a token count below zero",
    "negative-duration": "a duration below zero",
    "missing-id": "a row without the id that identifies it",
    "missing-metric": "a series row that does not name its metric",
    "missing-stat": "a summary row that does not name its statistic",
    "unknown-status": "a status outside the canonical enum",
    "wrong-column-count": "a line with more or fewer fields than the header",
    "malformed-line": "a line that is not valid for the file's format (bad JSON, bad quoting)",
    "missing-field": "a required field is absent or empty",
    "negative-count": "a count (tokens, invocations, GPUs, ...) below zero",
    "non-finite-number": "nan or infinity where a number is expected",
    "out-of-range-number": "a number of 1e18 or more in size, beyond any measured quantity",
    "out-of-range-timestamp": "a time outside the years 1 to 9999, which the lake cannot hold",
    "repeated-header": "a copy of the header line inside the data",
}

REJECTED_SCHEMA = pa.schema(
    [
        pa.field("trace", pa.string()),
        pa.field("table", pa.string()),
        pa.field("file", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("problem", pa.string()),
        pa.field("column", pa.string()),
        pa.field("message", pa.string()),
        pa.field("raw", pa.string()),
        # Input records this reject stands for: more than 1 when a malformed line swallowed
        # the lines after it (the parser read them as one value).
        pa.field("records", pa.int64()),
    ]
)

RAW_LIMIT = 1000  # characters of a rejected line kept: enough to see it, bounded for any line


@dataclass(frozen=True)
class Rejected:
    """One rejected input row: where it was, which rule it broke, and its text."""

    file: str
    line: int | None
    problem: str
    message: str
    raw: str | None = None
    column: str | None = None
    table: str | None = None  # the canonical table the row was meant for, when not the first
    records: int = 1  # input records it stands for (see REJECTED_SCHEMA)
    # The parser read this "line" across line breaks (an unterminated quote): the records
    # after it that went missing were swallowed by it. Not stored; `records` says it.
    multiline: bool = False

    def describe(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line is not None else self.file
        return f"{where}: {self.problem}: {bounded(self.message, 300)}"


def bounded(text: str, limit: int = RAW_LIMIT) -> str:
    """`text`, cut to `limit` characters and saying so: a message quotes data of any size."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"... ({len(text) - limit:,} more characters)"
