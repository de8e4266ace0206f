"""The independent record count agrees with a plain line loop, whatever the chunking."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import records
from ingest.records import CSV_WITH_HEADER, JSON_LINES, RecordRule, scan_file

SWF = RecordRule(header_lines=0, comment=b";")
LINE = st.sampled_from(["1,2,3", "", "   ", "; comment", '"a,b",c', "x" * 50])


def _plain_count(text: str, rule: RecordRule) -> int:
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    n = 0
    for i, line in enumerate(lines):
        line = line.removesuffix("\r")
        if i < rule.header_lines:
            continue
        if line == "" or (rule.skip_whitespace_lines and line.strip() == ""):
            continue
        if rule.comment and line.encode().startswith(rule.comment):
            continue
        n += 1
    return n


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    lines=st.lists(LINE, max_size=40),
    final_newline=st.booleans(),
    crlf=st.booleans(),
    chunk=st.integers(1, 64),
    rule=st.sampled_from([CSV_WITH_HEADER, JSON_LINES, SWF]),
)
def test_count_matches_a_plain_loop(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    final_newline: bool,
    crlf: bool,
    chunk: int,
    rule: RecordRule,
) -> None:
    end = "\r\n" if crlf else "\n"
    text = end.join(lines) + (end if final_newline and lines else "")
    path = tmp_path_factory.mktemp("r") / "f.csv"
    path.write_bytes(text.encode())
    old = records.CHUNK
    records.CHUNK = chunk
    try:
        scan = scan_file(path, rule)
    finally:
        records.CHUNK = old
    assert scan.records == _plain_count(text, rule)
    assert scan.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert scan.problem is None


def test_gzip_is_counted_decompressed_and_hashed_compressed(tmp_path: Path) -> None:
    text = "a,b\n" + "".join(f"{i},{i}\n" for i in range(1000))
    path = tmp_path / "f.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    scan = scan_file(path, CSV_WITH_HEADER)
    assert scan.records == 1000
    assert scan.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_bytes(path.read_bytes()[:-30])
    cut = scan_file(path, CSV_WITH_HEADER)
    assert cut.problem is not None and "truncated" in cut.problem


@pytest.mark.parametrize(
    ("data", "what", "line"),
    [
        (b"a,b\n1,2\n3,\x004\n", "NUL", 3),
        (b"a,b\r\n1,2\r\n3,4\n5,6\r\n", "CRLF and LF mixed", 3),
        (b"a,b\n1,2\n3,4\r\n", "CRLF and LF mixed", 3),
        (b"a,b\n1,2\r3,4\n", "carriage return", 2),
    ],
)
def test_what_no_parser_should_be_trusted_with(
    tmp_path: Path, data: bytes, what: str, line: int
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    scan = scan_file(path, CSV_WITH_HEADER)
    assert scan.problem is not None and what in scan.problem
    assert scan.problem_line == line


def test_a_bom_is_not_part_of_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\n1,2\n")
    assert scan_file(path, CSV_WITH_HEADER).records == 1
