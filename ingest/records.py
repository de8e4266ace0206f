"""Count a file's records without its parser, to prove the parser lost none.

A parser that meets an unterminated quote can swallow the rest of a file as one bad value and
report one rejected line; a reader can drop a line it cannot decode without a word. So every
ingest counts the records of each input a second way, with a reader that shares none of the
parser's failure modes (bytes and newlines, nothing else), and the trace is refused when the
parser's rows and rejects do not add up to that count (`pipeline.check_records`).

What a record is depends on the source (`RecordRule`): a line of a CSV after its header, a
JSON line, an SWF job line (not a `;` comment). Empty lines are never records (every parser
here skips them); a line of spaces is one (the CSV reader rejects it). No source here has
newlines inside quoted fields, so a record is one physical line; a source whose format allows
them would need a quote-aware rule.

The same pass computes the file's sha256 for the manifest (of the bytes on disk, compressed
or not) and notes what no parser should be trusted with: NUL bytes, carriage returns that do
not end a line the way the others do, a gzip stream that ends early.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHUNK = 4 << 20
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class RecordRule:
    """How a source's files hold records: `header_lines` lines first that are not records,
    lines starting with `comment` are not records, and (JSON lines) whether a line of only
    white space is skipped like an empty one."""

    header_lines: int = 1
    comment: bytes | None = None
    skip_whitespace_lines: bool = False
    delimiter: bytes | None = b","  # None: not a delimited format (no field-count limit)


CSV_WITH_HEADER = RecordRule(header_lines=1)
CSV_WITHOUT_HEADER = RecordRule(header_lines=0)
JSON_LINES = RecordRule(header_lines=0, skip_whitespace_lines=True, delimiter=None)
# A line with more fields than 4 times line 1's (at least 1,000; never more than MAX_FIELDS) is
# refused before the parser spends minutes and GBs on it (DuckDB logs one error, holding the whole
# line, per extra field: cost grows with the square of the width). The widest real line of the
# samples has about 5,000 fields (the PAI per-iteration CoV table); Azure Functions 2019, 1,444.
MAX_FIELDS = 20_000
MIN_FIELDS_LIMIT = 1_000

RuleFor = Callable[[Path], RecordRule | None]


@dataclass(frozen=True)
class FileScan:
    """What the independent pass found in one file."""

    sha256: str
    records: int | None  # None: the source's records are not lines (a JSON document, ...)
    lines: int = 0
    problem: str | None = None  # a reason no parser's result can be trusted
    problem_line: int | None = None


def _skip_pattern(rule: RecordRule) -> re.Pattern[bytes]:
    blank = rb"[ \t\r]*$" if rule.skip_whitespace_lines else rb"\r?$"
    alts = [blank] + ([re.escape(rule.comment)] if rule.comment else [])
    return re.compile(rb"(?m)^(?:" + b"|".join(alts) + rb")")


class _Counter:
    """Counts lines, and lines that are not records, over a stream fed in chunks."""

    def __init__(self, rule: RecordRule) -> None:
        self.skip = _skip_pattern(rule)
        # Only "nothing" and "\r" are not records: then numpy counts them (the regex costs
        # 7 s of CPU per GB; numpy 0.3 s). Comments and white space lines need the regex.
        self.plain = rule.comment is None and not rule.skip_whitespace_lines
        self.scratch = _Scratch()
        self.delimiter = rule.delimiter
        self.width: int | None = None  # fields of line 1
        self.max_fields = MAX_FIELDS
        self.header_left = rule.header_lines
        self.lines = 0
        self.records = 0
        self.tail = b""
        self.first_crlf: bool | None = None  # how line 1 ends
        self.problem: str | None = None
        self.problem_line: int | None = None

    def feed(self, data: bytes) -> None:
        start = 0
        if self.tail:  # the line cut by the last chunk's end, completed: apart, no big copy
            first = data.find(b"\n") + 1
            if not first:
                self.tail += data
                return
            line, self.tail = self.tail + data[:first], b""
            self._whole_lines(line, 0, len(line))
            start = first
        end = data.rfind(b"\n", start) + 1
        if end:
            self._whole_lines(data, start, end)
        self.tail = data[max(start, end) :]

    def close(self) -> None:
        if self.tail:
            tail, self.tail = self.tail, b""
            self._whole_lines(tail, 0, len(tail))

    def _whole_lines(self, buf: bytes, start: int, end: int) -> None:
        """Account buf[start:end]: whole lines, each ending in \\n but maybe the file's last."""
        while self.header_left and start < end:
            nl = buf.find(b"\n", start, end)
            stop = end if nl < 0 else nl + 1
            self._check(buf, start, stop, _Bytes(buf, start, stop, self.scratch))
            self.lines += 1
            self.header_left -= 1
            start = stop
        if start >= end:
            return
        view = _Bytes(buf, start, end, self.scratch)
        self._check(buf, start, end, view)
        newline_last = buf[end - 1] == 0x0A
        n = view.newlines + (0 if newline_last else 1)
        if self.plain:
            skipped = view.blank_lines()
        else:
            # With (?m) the pattern also matches the empty "line" after a final \n: not a line.
            skipped = sum(1 for _ in self.skip.finditer(buf, start, end)) - newline_last
        self.lines += n
        self.records += n - skipped

    def _check_fields(self, buf: bytes, start: int, end: int) -> None:
        """Flag the first line of buf[start:end] with more than `max_fields` fields."""
        arr = np.frombuffer(buf, np.uint8, end - start, start)
        newlines = np.flatnonzero(arr == 0x0A)
        delims = np.flatnonzero(arr == (self.delimiter or b",")[0])
        per_line = np.bincount(np.searchsorted(newlines, delims), minlength=len(newlines) + 1)
        over = np.flatnonzero(per_line + 1 > self.max_fields)
        if len(over):
            i = int(over[0])
            where = start + (int(newlines[i - 1]) + 1 if i else 0)
            self._flag(
                f"a line of {int(per_line[i]) + 1:,} fields (more than {self.max_fields:,}, "
                f"line 1 has {self.width:,})",
                buf,
                start,
                where,
            )

    def _flag(self, what: str, buf: bytes, start: int, pos: int) -> None:
        if self.problem is None:
            self.problem = what
            self.problem_line = self.lines + buf.count(b"\n", start, pos) + 1

    def _check(self, buf: bytes, start: int, end: int, view: _Bytes) -> None:
        if self.problem is not None:
            return
        if self.delimiter:
            delimiters = view.count(self.delimiter)
            if self.width is None:  # line 1 (header or first record) sets the width
                first = buf.find(b"\n", start, end)
                self.width = buf.count(self.delimiter, start, end if first < 0 else first) + 1
                self.max_fields = min(MAX_FIELDS, max(MIN_FIELDS_LIMIT, 4 * self.width))
            # Every line has about `width` fields: only a chunk with more delimiters than
            # that allows can hold a line over the limit, and only then are lines counted.
            lines = view.newlines + 1
            if delimiters > lines * (self.width - 1) + self.max_fields - self.width:
                self._check_fields(buf, start, end)
                if self.problem is not None:
                    return
        nul = buf.find(b"\x00", start, end)
        if nul >= 0:
            self._flag("a NUL byte (binary data, not text)", buf, start, nul)
            return
        crlf = view.crlf
        if view.carriage_returns != crlf:
            m = _LONE_CR.search(buf, start, end)
            where = m.start() if m else start
            self._flag("a carriage return that does not end a line", buf, start, where)
            return
        newlines = view.newlines
        if not newlines:
            return
        if self.first_crlf is None:
            self.first_crlf = buf.find(b"\n", start, end) > start and (
                buf[buf.find(b"\n", start, end) - 1] == 0x0D
            )
        if (self.first_crlf and crlf != newlines) or (not self.first_crlf and crlf):
            m = (_LF_ONLY if self.first_crlf else _CRLF).search(buf, start, end)
            where = m.start() if m else start
            self._flag("line endings that change (CRLF and LF mixed)", buf, start, where)


class _Scratch:
    """Boolean arrays reused from chunk to chunk: a fresh 4 MiB array per chunk would be
    mapped and page-faulted anew each time, which costs more than the comparison itself."""

    def __init__(self) -> None:
        self.arrays: dict[int, np.ndarray] = {}

    def get(self, slot: int, n: int) -> np.ndarray:
        a = self.arrays.get(slot)
        if a is None or len(a) < n:
            a = self.arrays[slot] = np.empty(max(n, CHUNK), np.bool_)
        return a[:n]


class _Bytes:
    """buf[start:end] as numpy sees it: the counts the checks and the record count share,
    each taken once (numpy counts a byte value about 3x faster than bytes.count, and a
    memchr `find` tells in no time that a file has no carriage return at all)."""

    def __init__(self, buf: bytes, start: int, end: int, scratch: _Scratch | None = None) -> None:
        self.buf, self.start, self.end = buf, start, end
        self.arr = np.frombuffer(buf, np.uint8, end - start, start)
        self.scratch = scratch or _Scratch()
        self.is_newline = np.equal(self.arr, 0x0A, out=self.scratch.get(0, len(self.arr)))
        self.newlines = int(np.count_nonzero(self.is_newline))
        self.has_cr = buf.find(b"\r", start, end) >= 0
        self.is_cr = self.arr == 0x0D if self.has_cr else None

    def count(self, byte: bytes) -> int:
        if len(byte) != 1:
            return self.buf.count(byte, self.start, self.end)
        return int(
            np.count_nonzero(np.equal(self.arr, byte[0], out=self.scratch.get(1, len(self.arr))))
        )

    @property
    def carriage_returns(self) -> int:
        return 0 if self.is_cr is None else int(np.count_nonzero(self.is_cr))

    @property
    def crlf(self) -> int:
        if self.is_cr is None:
            return 0
        return int(np.count_nonzero(self.is_cr[:-1] & self.is_newline[1:]))

    def blank_lines(self) -> int:
        """Lines holding nothing or only "\\r" (what `_skip_pattern` matches for a plain
        rule). A line starts at `start` (always a line start here) and after every "\\n" but
        one at the very end; the last line may lack its "\\n" (the file's end)."""
        nl = self.is_newline
        if not len(nl):
            return 0
        # "\n" right at a line start: at `start`, or right after another "\n".
        both = np.logical_and(nl[:-1], nl[1:], out=self.scratch.get(1, len(nl) - 1))
        blank = int(nl[0]) + int(np.count_nonzero(both))
        if self.is_cr is not None:  # "\r" at a line start, then "\n" or the end
            starts = np.empty(len(nl), np.bool_)
            starts[0] = True
            starts[1:] = nl[:-1]
            ends = np.empty(len(nl), np.bool_)
            ends[:-1] = nl[1:]
            ends[-1] = True
            blank += int(np.count_nonzero(starts & self.is_cr & ends))
        return blank


_LONE_CR = re.compile(rb"\r(?!\n)")
_LF_ONLY = re.compile(rb"(?<!\r)\n")
_CRLF = re.compile(rb"\r\n")


def scan_file(path: Path, rule: RecordRule | None) -> FileScan:
    """sha256 of the file, and its record count under `rule` (decompressing gzip)."""
    h = hashlib.sha256()
    counter = _Counter(rule) if rule else None
    gz: zlib._Decompress | None = None
    truncated = False
    with path.open("rb") as f:
        first = True
        while chunk := f.read(CHUNK):
            h.update(chunk)
            if counter is None:
                continue
            if first:
                first = False
                if chunk[:2] == b"\x1f\x8b":
                    gz = zlib.decompressobj(zlib.MAX_WBITS | 16)
                elif chunk.startswith(BOM):
                    chunk = chunk[len(BOM) :]
            if gz is None:
                counter.feed(chunk)
                continue
            while chunk:
                try:
                    data = gz.decompress(chunk)
                    if counter.lines == 0 and not counter.tail and data.startswith(BOM):
                        data = data[len(BOM) :]
                    counter.feed(data)
                except zlib.error:
                    truncated = True
                    break
                chunk = gz.unused_data
                if gz.eof and chunk:  # a file of several gzip members, one after another
                    gz = zlib.decompressobj(zlib.MAX_WBITS | 16)
                elif gz.eof:
                    break
        if gz is not None and not gz.eof:
            truncated = True
    if counter is None:
        return FileScan(h.hexdigest(), None)
    counter.close()
    problem, line = counter.problem, counter.problem_line
    if truncated and problem is None:
        problem, line = "a compressed stream that ends early (truncated file)", counter.lines
    return FileScan(h.hexdigest(), counter.records, counter.lines, problem, line)
