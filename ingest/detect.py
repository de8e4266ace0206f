"""Which source reads a file: sniffed from its first bytes, or named with `--source`."""

from __future__ import annotations

from pathlib import Path

from ingest.errors import EmptyFile, UnknownFormat
from ingest.sources import SOURCES
from ingest.sources.base import Source, csv_header, head_lines, read_head

# Files that sit beside traces in public releases and are never trace data.
# (".header" files of Alibaba PAI 2020 name the columns of header-less tables.)
NOT_DATA_SUFFIXES = (
    ".md",
    ".pdf",
    ".png",
    ".jpg",
    ".ipynb",
    ".py",
    ".sha256",
    ".header",
    ".rar",
    ".zip",
)


def candidates(path: Path) -> list[Source]:
    head = read_head(path)
    return [s for s in SOURCES.values() if s.sniff(head, path.name)]


def detect(path: Path) -> Source:
    """The one source that recognizes `path`, or a message that says how to choose."""
    head = read_head(path)
    if not head.strip():
        raise EmptyFile(f"{path}: the file is empty. Nothing to ingest.")
    found = [s for s in SOURCES.values() if s.sniff(head, path.name)]
    if len(found) == 1:
        return found[0]
    first = (head_lines(head, 1) or [""])[0][:120]
    if not found:
        raise UnknownFormat(
            f"{path}, line 1: no source recognizes this file (it starts with {first!r})."
            f"{_near_miss(head)} Tried {len(SOURCES)} sources; `traces sources` lists them. "
            "If you know the format, pass --source NAME."
        )
    names = ", ".join(s.name for s in found)
    raise UnknownFormat(
        f"{path}: several sources recognize this file ({names}). Pick one with --source NAME."
    )


def _near_miss(head: bytes) -> str:
    """' It looks like X but lacks column(s) ...' for the CSV source whose header it nearly has."""
    header = set(csv_header(head))
    best: tuple[float, Source, list[str]] | None = None
    for s in SOURCES.values():
        if not s.columns:
            continue
        missing = [c for c in s.columns if c not in header]
        share = 1 - len(missing) / len(s.columns)
        if missing and share >= 0.5 and (best is None or share > best[0]):
            best = (share, s, missing)
    if best is None:
        return ""
    _, s, missing = best
    return f" It looks like {s.name} ({s.expects}) but lacks column(s) {', '.join(missing)}."


def looks_like_data(path: Path) -> bool:
    name = path.name.lower()
    return not (name.startswith(".") or name.endswith(NOT_DATA_SUFFIXES) or name == "source.md")
