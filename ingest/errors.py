"""Typed exceptions. The CLI turns them into one short paragraph and an exit code.

`DataError`s are problems with the input (exit 1); `UsageError`s are problems with how the
command was called (exit 2). Every message says what went wrong and what to do about it.
"""

from __future__ import annotations


class TracesError(Exception):
    """Base class: `str(err)` is the whole message a user sees."""

    exit_code = 1


class DataError(TracesError):
    exit_code = 1


class UsageError(TracesError):
    exit_code = 2


class UnknownSource(UsageError):
    """`--source NAME` names no registered source."""


class NoInput(UsageError):
    """A path given on the command line does not exist or holds no files."""


class UnknownFormat(DataError):
    """No registered source recognizes a file."""


class MissingColumns(DataError):
    """A file lacks columns its source needs."""


class EmptyFile(DataError):
    """A file has no data rows."""


class CorruptFile(DataError):
    """A file cannot be read to the end (truncated gzip, binary garbage, ...)."""


class TooManyRejected(DataError):
    """More rows were rejected than the caller allowed; nothing was written."""


class LakeError(DataError):
    """The lake directory is not usable (not a lake, unreadable manifest, ...)."""


class NoLake(UsageError):
    """`--lake` names a place where no lake is: a usage error, like a mistyped path."""


class UnknownTrace(UsageError):
    """A trace name that the lake does not hold."""


class TraceExists(UsageError):
    """Ingest would replace a trace with data from other files than it holds (no --replace)."""


class RecordsMismatch(DataError):
    """The parser's rows and rejects do not add up to the file's independently counted records."""
