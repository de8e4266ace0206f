"""Whole numbers of 10^15 and more are refused, never stored as another number.

Within 15 characters, '9.0000000001e18' reads as a double that is not that number (a double
holds every whole number exactly only below 2^53); the SQL rules of a checked CSV scan and the
Python rules of the sources that parse in Python refuse the same values with the same words.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingest.pipeline import ingest_paths
from ingest.sources import SOURCES
from ingest.sources.checks import BadValue, parse_whole
from tests.conftest import SHARED
from tests.sources.values_support import csv_fields, lines_of, read_checked, write_lines

AZURE = "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
TOO_LARGE = "is too large: whole numbers here are below 10^15"
# line -> (ContextTokens, slug or None when kept, the value kept)
VALUES: dict[int, tuple[str, str | None, int | None]] = {
    3: ("2e15", "unparsable-value", None),
    4: ("9.0000000001e18", "unparsable-value", None),
    5: ("-2e15", "unparsable-value", None),
    6: ("999999999999999", None, 999_999_999_999_999),  # 15 digits: exact, kept
    7: ("9.99999999e14", None, 999_999_999_000_000),
}


def _mutated(tmp_path: Path) -> Path:
    lines = [x.rstrip("\r\n") + "\n" for x in lines_of(SHARED / AZURE, 400)]
    for n, (value, _, _) in VALUES.items():
        ts, _, out = csv_fields(lines[n - 1])
        lines[n - 1] = f"{ts},{value},{out}\n"
    return write_lines(tmp_path / "AzureLLMInferenceTrace_conv.csv", lines)


def test_the_sql_rules_refuse_what_a_double_may_not_hold(tmp_path: Path) -> None:
    got = read_checked(SOURCES["azure_llm_2023"], [_mutated(tmp_path)])
    refused = {n: slug for n, (_, slug, _) in VALUES.items() if slug}
    assert got.lines() == sorted(refused.items())
    messages = {r.line: r.message for r in got.rejected}
    for n in refused:
        assert messages[n] == f"ContextTokens: {VALUES[n][0]!r} {TOO_LARGE}"


@pytest.mark.parametrize(("value", "slug", "kept"), list(VALUES.values()))
def test_the_python_rules_agree(value: str, slug: str | None, kept: int | None) -> None:
    if slug is None:
        assert parse_whole(value, "ContextTokens", signed=True) == kept
        return
    with pytest.raises(BadValue) as e:
        parse_whole(value, "ContextTokens", signed=True)
    assert (e.value.problem, str(e.value)) == (slug, f"ContextTokens: {value!r} {TOO_LARGE}")


def test_the_lake_holds_the_kept_values_exactly(tmp_path: Path) -> None:
    report = ingest_paths([_mutated(tmp_path)], tmp_path / "lake", max_rejected=1.0)
    assert not report.failures
    (result,) = report.results
    assert result.problems == {"unparsable-value": 3}
    files = sorted((tmp_path / "lake" / "requests").glob("trace=*/*.parquet"))
    values = {v for f in files for v in pq.read_table(f).column("input_tokens").to_pylist()}
    assert {999_999_999_999_999, 999_999_999_000_000} <= values
    assert max(values) == 999_999_999_999_999
