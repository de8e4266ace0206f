"""Output formats of `traces generate`: one module per format, each writing the real format its
tool reads, readable back by our own adapter (`traces ingest FILE --trace NAME` detects it).

A format declares the workload shape it writes (`requests`, `jobs` or `invocations`) and
whether it needs token lengths; `FORMATS` is the registry, in the order `--help` lists them.
Writers stream: rows are formatted and written `CHUNK_ROWS` at a time, to a temporary file
renamed into place at the end, so an interrupted run leaves no half-written file.

Renaming needs a regular file to replace (`writable`): an output that is a symbolic link to
one is written through (the file it points to is replaced, the link stays); one that exists
and is anything else (a folder, a device such as /dev/stdout, a fifo, a socket) is refused
with a UsageError, before a byte is written.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import polars as pl

from ingest.errors import UsageError

CHUNK_ROWS = 1_000_000


@dataclass(frozen=True)
class WriteInfo:
    """What a writer may say about the run in its file (SWF header comments, ...)."""

    trace: str
    seed: int
    arrival_model: str


@dataclass(frozen=True)
class Format:
    name: str  # as --format takes it
    shape: str  # requests | jobs | invocations: the workload it writes
    needs_tokens: bool
    reader: str  # the source of ingest/sources that reads the file back
    summary: str  # one line for --help and the README
    write: Callable[[Any, Path, WriteInfo], list[Path]]
    also_from_requests: bool = False  # invocations formats: counts of timed requests too

    def fits(self, shape: str | None, has_tokens: bool) -> bool:
        """Whether a trace of `shape` (with or without token lengths) can feed this format."""
        if shape == self.shape:
            return has_tokens or not self.needs_tokens
        return self.also_from_requests and shape == "requests"


def writable(path: Path, option: str = "--out") -> Path:
    """The file that writing `path` replaces: `path` itself, or for a symbolic link the
    regular file it points to (one that does not exist yet is created). A UsageError naming
    `option` when `path` exists and is not a regular file, nor a link to one: files are
    written under a temporary name and renamed onto it, which would replace a device, fifo or
    socket (/dev/stdout is a link to one) with a plain file, and cannot replace a folder."""
    try:
        mode = path.stat().st_mode  # follows links
    except FileNotFoundError:
        mode = None  # nothing there yet, or a link to nothing yet: it is created
    except NotADirectoryError:
        raise UsageError(
            f"{option} {path}: a part of that path is a file, not a folder. "
            f"Pass {option} a path in an existing folder or a new one."
        ) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise UsageError(
            f"{option} {path} is a folder: pass {option} a file name, e.g. {path / 'FILE'}."
        )
    if mode is not None and (not stat.S_ISREG(mode) or _via_descriptor(path)):
        raise UsageError(
            f"{option} {path} is a device, pipe, socket or open descriptor (as /dev/stdout "
            "is), not a regular file: the output is written to a temporary file renamed onto "
            "the path, which would replace it rather than write to it. Write to a file and "
            f"read that, e.g. `{option} out.csv` then "
            "`cat out.csv`."
        )
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _via_descriptor(path: Path) -> bool:
    """Whether `path` names an open file descriptor (/dev/stdout, /dev/fd/N, /proc/self/fd/N,
    or a link to one): renaming onto what it resolves to would replace a file some process
    has open (a shell's `> file`), not write to the descriptor."""
    seen = Path(os.path.abspath(path))
    for _ in range(40):  # the kernel's own limit on links followed
        if str(seen).startswith(("/proc/", "/dev/fd/")):
            return True
        if not seen.is_symlink():
            return False
        seen = Path(os.path.abspath(seen.parent / os.readlink(seen)))
    return False


@contextmanager
def _atomic(path: Path, mode: str, **options: Any) -> Iterator[Any]:
    target = writable(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    try:
        with tmp.open(mode, **options) as f:
            yield f
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_text(path: Path) -> AbstractContextManager[IO[str]]:
    """A UTF-8 text file written under a temporary name and renamed onto `path` once complete
    (onto the file a link at `path` points to: see `writable`)."""
    return _atomic(path, "w", encoding="utf-8", newline="\n")


def atomic_binary(path: Path) -> AbstractContextManager[IO[bytes]]:
    """As `atomic_text`, for writers that produce bytes (polars' CSV writer)."""
    return _atomic(path, "wb")


def write_csv_chunks(
    out: Path,
    header: Sequence[str] | None,
    rows: int,
    frame: Callable[[slice], pl.DataFrame],
    preamble: str = "",
    **options: Any,
) -> list[Path]:
    """Write `rows` rows to `out` as one CSV, CHUNK_ROWS at a time: `frame(part)` builds the
    columns of the rows in `part` (its column names make the header, written once); `options`
    go to polars' `write_csv`. An empty workload still gets its `header` line. `preamble` is
    written first as it is (SWF's comment lines); `header` None: no header line at all."""
    with atomic_binary(out) as f:
        f.write(preamble.encode())
        if not rows and header is not None:
            f.write((",".join(header) + "\n").encode())
        for start in range(0, rows, CHUNK_ROWS):
            part = slice(start, min(start + CHUNK_ROWS, rows))
            first = start == 0 and header is not None
            frame(part).write_csv(f, include_header=first, **options)
    return [out]


def _registry() -> dict[str, Format]:
    from generate.formats import azure_functions, azure_llm, burstgpt, mooncake, swf, vidur

    formats = (
        azure_llm.FORMAT,
        mooncake.FORMAT,
        burstgpt.FORMAT,
        vidur.FORMAT,
        swf.FORMAT,
        azure_functions.FORMAT,
    )
    return {f.name: f for f in formats}


FORMATS: dict[str, Format] = _registry()
