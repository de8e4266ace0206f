"""The record count of any bytes, lone carriage returns and blank lines included, equals a plain
line loop's, whatever the chunking (the count itself runs on numpy, see ingest/records.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import records
from ingest.records import CSV_WITH_HEADER, CSV_WITHOUT_HEADER, RecordRule, scan_file


def _plain_count(data: bytes, rule: RecordRule) -> tuple[int, int]:
    """(lines, records): a line ends at \\n; one of nothing or only \\r is no record."""
    lines = data.split(b"\n")
    if data.endswith(b"\n") or not data:
        lines.pop()
    n = 0
    for i, line in enumerate(lines):
        if i >= rule.header_lines and line.removesuffix(b"\r") != b"":
            n += 1
    return len(lines), n


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    data=st.lists(st.sampled_from([b"a", b",", b"\r", b"\n", b" ", b"\r\n"]), max_size=80).map(
        b"".join
    ),
    chunk=st.integers(1, 16),
    rule=st.sampled_from([CSV_WITH_HEADER, CSV_WITHOUT_HEADER]),
)
def test_any_bytes_are_counted_as_a_plain_loop_counts_them(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, chunk: int, rule: RecordRule
) -> None:
    path = tmp_path_factory.mktemp("r") / "f.csv"
    path.write_bytes(data)
    old = records.CHUNK
    records.CHUNK = chunk
    try:
        scan = scan_file(path, rule)
    finally:
        records.CHUNK = old
    assert (scan.lines, scan.records) == _plain_count(data, rule)


def test_a_large_file_is_counted_across_chunks(tmp_path: Path) -> None:
    # Blank lines, and lines cut by the chunk boundaries (4 MiB chunks).
    data = b"h,v\n" + b"\n".join(
        b"" if i % 97 == 0 else b"%d,%d" % (i, i * 7) for i in range(1_200_000)
    )
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    scan = scan_file(path, CSV_WITH_HEADER)
    assert len(data) > 2 * records.CHUNK
    assert (scan.lines, scan.records) == _plain_count(data, CSV_WITH_HEADER)
    assert scan.records == sum(1 for i in range(1_200_000) if i % 97)
    assert scan.problem is None
