"""Bad input: each case gets a message naming the file (and line where known), a non-zero exit,
and leaves the lake exactly as it was."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest

AZURE = "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
GOOD = "2023-11-16 18:15:46.6805900,374,44\n"


def _snapshot(lake: Path) -> dict[str, str]:
    return {
        str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(lake.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def seeded_lake(cli, shared: Path, lake_dir: Path) -> Path:
    """A lake that already holds a trace, so that 'nothing lost' can be checked."""
    assert cli("ingest", shared / AZURE, "--lake", lake_dir)[0] == 0
    return lake_dir


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


CASES = {
    "empty file": ("empty.csv", "", [r"empty\.csv: the file is empty"]),
    "wrong format": (
        "wrong.csv",
        "name,value\nalpha,1\n",
        [r"wrong\.csv, line 1: no source recognizes this file", r"--source NAME"],
    ),
    "missing columns": (
        "missing.csv",
        "TIMESTAMP,ContextTokens\n2023-11-16 18:15:46.6805900,374\n",
        [r"missing\.csv, line 1", r"lacks column\(s\) GeneratedTokens"],
    ),
    "unparsable timestamps": (
        "AzureLLMInferenceTrace_conv.csv",
        HEADER + GOOD + "yesterday,10,10\nnot-a-date,879,55\n",
        [r"line 3: unparsable-value: TIMESTAMP: 'yesterday' is not a timestamp", r"line 4"],
    ),
    "unparsable numbers": (
        "AzureLLMInferenceTrace_conv.csv",
        HEADER + GOOD + "2023-11-16 18:15:47.0000000,12x,3\n",
        [r"line 3: unparsable-value: ContextTokens: '12x' is not a whole number"],
    ),
    "negative token counts": (
        "AzureLLMInferenceTrace_conv.csv",
        HEADER + GOOD + "2023-11-16 18:15:47.0000000,-5,3\n",
        [r"line 3: negative-count: ContextTokens: '-5'"],
    ),
    "wrong number of fields": (
        "AzureLLMInferenceTrace_conv.csv",
        HEADER + GOOD + "2023-11-16 18:15:47.0000000,5,3,9\n",
        [r"line 3: wrong-column-count"],
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_file_fails_clearly_and_keeps_the_lake(
    case: str, cli, seeded_lake: Path, tmp_path: Path
) -> None:
    name, text, patterns = CASES[case]
    before = _snapshot(seeded_lake)
    # --replace: the bad file is meant to reach the reader, not to be refused as other files.
    path = _write(tmp_path, name, text)
    code, _, err = cli("ingest", path, "--lake", seeded_lake, "--replace")
    assert code == 1
    for pattern in patterns:
        assert re.search(pattern, err), (pattern, err)
    # The message also names the file.
    assert name in err
    after = {k: v for k, v in _snapshot(seeded_lake).items() if not k.startswith("_staging")}
    assert after == before
    assert not any((seeded_lake / "_staging").iterdir())


def test_truncated_gzip(cli, shared: Path, seeded_lake: Path, tmp_path: Path) -> None:
    data = gzip.compress((shared / AZURE).read_bytes())
    broken = tmp_path / "AzureLLMInferenceTrace_code.csv.gz"
    broken.write_bytes(data[: len(data) // 2])
    before = _snapshot(seeded_lake)
    code, _, err = cli("ingest", broken, "--lake", seeded_lake)
    assert code == 1
    assert "AzureLLMInferenceTrace_code.csv.gz: the file cannot be read to the end" in err
    assert "download it again" in err
    assert _snapshot(seeded_lake) == before


def test_gzip_that_is_not_gzip(cli, seeded_lake: Path, tmp_path: Path) -> None:
    fake = tmp_path / "trace.csv.gz"
    fake.write_bytes(b"\x1f\x8b\x08\x00garbage-not-really-gzip" * 10)
    code, _, err = cli("ingest", fake, "--lake", seeded_lake)
    assert code == 1 and "trace.csv.gz" in err


def test_a_few_bad_rows_can_be_kept_aside(cli, seeded_lake: Path, tmp_path: Path) -> None:
    """With --max-rejected the good rows are written and every bad one is kept with its reason."""
    f = _write(
        tmp_path,
        "AzureLLMInferenceTrace_code.csv",
        HEADER + GOOD * 3 + "2023-11-16 18:15:47.0000000,-5,3\n",
    )
    code, out, err = cli("ingest", f, "--lake", seeded_lake, "--max-rejected", "0.5")
    assert code == 0, err
    assert "1 row rejected (negative-count 1)" in out.replace("\n", " ")
    import duckdb

    rejected = duckdb.sql(
        f"SELECT file, line, problem, raw FROM read_parquet("
        f"'{seeded_lake}/_rejected/trace=azure_llm_2023_code/*.parquet')"
    ).fetchall()
    assert rejected == [(str(f), 5, "negative-count", "2023-11-16 18:15:47.0000000,-5,3")]


def test_usage_errors_exit_2(cli, tmp_path: Path) -> None:
    code, _, err = cli("ingest", tmp_path / "absent.csv", "--lake", tmp_path / "lake")
    assert code == 2 and "absent.csv: no such file or directory" in err
    code, _, err = cli("ingest", tmp_path, "--source", "nope", "--lake", tmp_path / "lake")
    assert code == 2 and "No source named 'nope'" in err and "traces sources" in err
    code, _, _ = cli("ingest", "--no-such-option")
    assert code == 2


def test_debug_shows_the_traceback(cli, tmp_path: Path) -> None:
    empty = _write(tmp_path, "empty.csv", "")
    from ingest.errors import EmptyFile

    with pytest.raises(EmptyFile):
        cli("ingest", empty, "--lake", tmp_path / "lake", "--debug")


def test_rows_breaking_a_schema_rule_are_moved_to_rejected(cli, tmp_path: Path) -> None:
    """Rules checked after parsing (here: durations >= 0) reject the row, not the file."""
    f = _write(
        tmp_path,
        "BurstGPT_3.csv",
        "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,"
        "Log Type\n"
        "5.0,s1,2,ChatGPT,472,18,490,Conversation log\n"
        "6.0,s1,-3,ChatGPT,100,18,118,Conversation log\n",
    )
    lake = tmp_path / "lake"
    code, _, err = cli("ingest", f, "--lake", lake, "--max-rejected", "1")
    assert code == 0, err
    import duckdb
    import pyarrow.parquet as pq

    kept = duckdb.sql(
        f"SELECT input_tokens FROM read_parquet('{lake}/requests/**/*.parquet')"
    ).fetchall()
    assert kept == [(472,)]
    problem, raw = duckdb.sql(
        f"SELECT problem, raw FROM read_parquet('{lake}/_rejected/**/*.parquet')"
    ).fetchall()[0]
    assert problem == "negative-duration" and '"duration_s":-3.0' in raw
    for part in (lake / "requests").rglob("*.parquet"):  # the rewrite keeps the metadata
        assert pq.read_schema(part).metadata[b"workload_traces.schema_version"] == b"1"
