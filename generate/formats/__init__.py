"""Output formats of `traces generate`: one module per format, each writing the real format its
tool reads, readable back by our own adapter (`traces ingest FILE` detects it).

A format declares the workload shape it writes (`requests`, `jobs` or `invocations`) and
whether it needs token lengths; `FORMATS` is the registry, in the order `--help` lists them.
Writers stream: rows are formatted and written `CHUNK_ROWS` at a time, to a temporary file
renamed into place at the end, so an interrupted run leaves no half-written file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import polars as pl

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


@contextmanager
def atomic_text(path: Path) -> Iterator[IO[str]]:
    """A text file written under a temporary name and renamed to `path` once complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as f:
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_binary(path: Path) -> Iterator[IO[bytes]]:
    """As `atomic_text`, for writers that produce bytes (polars' CSV writer)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    try:
        with tmp.open("wb") as f:
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv_chunks(
    out: Path,
    header: Sequence[str],
    rows: int,
    frame: Callable[[slice], pl.DataFrame],
    **options: Any,
) -> list[Path]:
    """Write `rows` rows to `out` as one CSV, CHUNK_ROWS at a time: `frame(part)` builds the
    columns of the rows in `part` (its column names make the header, written once); `options`
    go to polars' `write_csv`. An empty workload still gets its `header` line."""
    with atomic_binary(out) as f:
        if not rows:
            f.write((",".join(header) + "\n").encode())
        for start in range(0, rows, CHUNK_ROWS):
            part = slice(start, min(start + CHUNK_ROWS, rows))
            frame(part).write_csv(f, include_header=start == 0, **options)
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
