"""Regression tests for issue 11's classes that the core ingest owns: names never become
paths, input names never become patterns, and no record goes missing without a word."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import CliResult, lake_sql

AZURE = "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _sample(shared: Path, tmp_path: Path, n: int, name: str = "conv.csv") -> Path:
    lines = (shared / AZURE).read_text().splitlines(keepends=True)
    out = tmp_path / name
    out.write_text("".join(lines[: n + 1]))
    return out


@pytest.mark.parametrize(
    "name",
    [
        "x/../../../victim",
        "/abs/name",
        "../_manifest/other",
        "a=b",
        "it's",
        "50%",
        "new\nline",
        "a[1]",
        "star*",
        "",
        "x" * 65,
        ".hidden",
    ],
)
def test_a_trace_name_that_is_not_an_identifier_is_refused_before_any_write(
    shared: Path,
    tmp_path: Path,
    lake_dir: Path,
    cli: Callable[..., CliResult],
    name: str,
) -> None:
    csv = _sample(shared, tmp_path, 20)
    assert cli("ingest", csv, "--lake", lake_dir, "--trace", "good")[0] == 0
    before = _snapshot(tmp_path)
    code, out, err = cli("ingest", csv, "--lake", lake_dir, "--trace", name)
    assert code == 2, out + err
    assert "not a valid trace name" in out + err
    assert "letters, digits" in out + err  # the rule is stated
    assert _snapshot(tmp_path) == before
    assert "Unexpected error" not in out + err


def test_a_default_name_from_a_hostile_file_name_is_made_valid(
    shared: Path, tmp_path: Path, lake_dir: Path, cli: Callable[..., CliResult]
) -> None:
    csv = _sample(shared, tmp_path, 20, name="it's a=b%.csv")
    code, out, err = cli("ingest", csv, "--lake", lake_dir, "--source", "azure_llm_2023")
    assert code == 0, out + err
    names = [p.stem for p in (lake_dir / "_manifest").glob("*.json")]
    assert len(names) == 1
    assert all(c.isalnum() or c in "_.-" for c in names[0])


@pytest.mark.parametrize("odd", ["we[i]rd.csv", "x*.csv", "x?.csv"])
def test_an_input_file_name_is_a_name_never_a_pattern(
    shared: Path, tmp_path: Path, lake_dir: Path, cli: Callable[..., CliResult], odd: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    target = _sample(shared, data, 7, name=odd)
    # Files the name would match as a pattern, with other row counts.
    for decoy, n in (("weird.csv", 11), ("xy.csv", 13), ("x1.csv", 17), ("wei.csv", 19)):
        _sample(shared, data, n, name=decoy)
    code, out, err = cli("ingest", target, "--lake", lake_dir, "--trace", "odd")
    assert code == 0, out + err
    assert lake_sql(lake_dir, "SELECT count(*) FROM requests") == [(7,)]
    manifest = json.loads((lake_dir / "_manifest/odd.json").read_text())
    assert [f["path"] for f in manifest["files"]] == [str(target.resolve())]
    assert manifest["files"][0]["records"] == 7


def _with_unterminated_quote(shared: Path, tmp_path: Path) -> tuple[Path, int, int]:
    lines = (shared / AZURE).read_text().splitlines(keepends=True)[:1001]
    bad_at = 500  # 1-based data row; file line 501
    ts, ctx, gen = lines[bad_at].rstrip("\n").split(",")
    lines[bad_at] = f'{ts},"{ctx},{gen}\n'
    out = tmp_path / "quote.csv"
    out.write_text("".join(lines))
    return out, 1000, bad_at + 1


def test_an_unterminated_quote_cannot_swallow_the_rest_of_the_file_silently(
    shared: Path, tmp_path: Path, lake_dir: Path, cli: Callable[..., CliResult]
) -> None:
    csv, _, line = _with_unterminated_quote(shared, tmp_path)
    code, out, err = cli("ingest", csv, "--lake", lake_dir, "--trace", "q")
    # 500 of 1,000 records are lost to one bad line: far over the default 1% limit.
    assert code == 1, out + err
    assert "rows rejected" in out + err
    assert f"line {line}" in out + err
    assert not (lake_dir / "_manifest/q.json").exists()


def test_with_a_raised_limit_the_swallowed_lines_are_rejected_and_counted(
    shared: Path, tmp_path: Path, lake_dir: Path, cli: Callable[..., CliResult]
) -> None:
    csv, records, line = _with_unterminated_quote(shared, tmp_path)
    code, out, err = cli("ingest", csv, "--lake", lake_dir, "--trace", "q", "--max-rejected", "1")
    assert code == 0, out + err
    manifest = json.loads((lake_dir / "_manifest/q.json").read_text())
    # Counted independently: the data lines of the file.
    data_lines = sum(1 for _ in csv.open()) - 1
    assert manifest["records"] == data_lines == records
    assert manifest["rows_written"] + manifest["rows_rejected"] == records
    assert manifest["rows_written"] == line - 2  # every line before the bad one
    rejected = pq.read_table(next((lake_dir / "_rejected").rglob("*.parquet"))).to_pylist()
    assert [(r["line"], r["records"]) for r in rejected] == [(line, records - (line - 2))]
    assert len(rejected[0]["raw"]) < 1100  # a bounded excerpt, not the rest of the file


def test_the_manifest_records_the_independent_count_of_every_file(
    shared: Path, lake_dir: Path, cli: Callable[..., CliResult]
) -> None:
    code, out, err = cli("ingest", shared / AZURE, "--lake", lake_dir)
    assert code == 0, out + err
    manifest = json.loads(next((lake_dir / "_manifest").glob("*.json")).read_text())
    with (shared / AZURE).open() as f:
        data_lines = sum(1 for line in f if line.strip()) - 1
    assert manifest["files"][0]["records"] == manifest["records"] == data_lines == 19366


def _azure_with(shared: Path, tmp_path: Path, inserted: list[str], name: str) -> Path:
    lines = (shared / AZURE).read_text().splitlines(keepends=True)[:300]
    out = tmp_path / name
    out.write_text("".join(lines[:5] + inserted + lines[5:]))
    return out


def test_many_wide_lines_are_refused_at_once_not_parsed(
    shared: Path, tmp_path: Path, lake_dir: Path, cli: Callable[..., CliResult]
) -> None:
    # 20 lines of 19,999 fields took DuckDB 102 s and 10 GB; a line 4x wider than line 1
    # (at least 1,000 fields) is refused before the parser starts, naming its line.
    csv = _azure_with(shared, tmp_path, [",".join(["1"] * 19_999) + "\n"] * 20, "wide.csv")
    code, out, err = cli("ingest", csv, "--lake", lake_dir, "--max-rejected", "0.5")
    assert code == 1
    assert "wide.csv, line 6: a line of 19,999 fields" in out + err
    assert not (lake_dir / "_manifest").exists() or not any((lake_dir / "_manifest").iterdir())


def test_a_huge_field_is_a_bounded_reject_not_an_unexpected_error(
    shared: Path, tmp_path: Path, lake_dir: Path, cli: Callable[..., CliResult]
) -> None:
    row = "2023-11-16 18:15:51.3910170," + "9" * 200_000 + ",1\n"
    csv = _azure_with(shared, tmp_path, [row], "field.csv")
    code, out, err = cli("ingest", csv, "--lake", lake_dir, "--max-rejected", "0.5")
    assert "Unexpected error" not in out + err
    assert len(out + err) < 20_000  # the message quotes the value, bounded
    assert code == 0, out + err
    rejected = pq.read_table(next((lake_dir / "_rejected").rglob("*.parquet"))).to_pylist()
    assert [r["line"] for r in rejected] == [6]
    assert len(rejected[0]["message"]) < 1100 and len(rejected[0]["raw"]) < 1100


def test_a_json_line_of_control_white_space_is_a_record(
    shared: Path, tmp_path: Path, lake_dir: Path, cli: Callable[..., CliResult]
) -> None:
    moon = shared / "llm_serving/mooncake_fast25/conversation_trace.jsonl"
    lines = moon.read_text().splitlines(keepends=True)[:50]
    jsonl = tmp_path / "vt.jsonl"
    jsonl.write_text("".join([*lines[:10], "\x0b\n", "[" * 100_000 + "\n", *lines[10:]]))
    code, out, err = cli("ingest", jsonl, "--lake", lake_dir, "--max-rejected", "0.5")
    assert code == 0, out + err
    manifest = json.loads(next((lake_dir / "_manifest").glob("*.json")).read_text())
    assert manifest["records"] == 52
    assert manifest["rows_written"] == 50 and manifest["rows_rejected"] == 2


def test_a_journal_killed_before_it_was_in_place_is_removed(tmp_path: Path) -> None:
    from ingest.lake import Lake

    Lake.open(tmp_path / "lake", create=True)
    tmp = tmp_path / "lake/_journal/t.json.tmp"
    tmp.parent.mkdir()
    tmp.write_text("{")
    Lake.open(tmp_path / "lake")
    assert not tmp.exists()
