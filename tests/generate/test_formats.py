"""Every output format writes the real layout its tool reads, and reads back through our own
adapter by auto-detection (`traces ingest FILE`, no --source) with the same rows and values.

Values are checked independently: the written file is parsed here with the csv/json/gzip
modules and compared with what the lake holds after ingest and with the raw source file."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from generate import formats
from generate.api import GenerateResult, generate
from generate.formats import FORMATS
from ingest.lake import Lake
from tests.conftest import lake_sql
from tests.generate.conftest import (
    AZURE_TRACE,
    FAST,
    FUNCTIONS_2019,
    FUNCTIONS_2019_TRACE,
    FUNCTIONS_2021_TRACE,
    KTH,
    KTH_TRACE,
    MOONCAKE_TRACE,
)

CliRun = Callable[..., tuple[int, str, str]]


def ingest_back(cli: CliRun, files: list[Path], lake: Path) -> dict:
    """`traces ingest FILE... --lake LAKE` with no --source; the one manifest it wrote."""
    code, out, err = cli("ingest", *files, "--lake", lake)
    assert code == 0, out + err
    manifests = Lake.open(lake).manifests()
    assert len(manifests) == 1, manifests
    return manifests[0]


def epoch_us(text: str) -> int:
    """`2023-11-16 18:15:46.6805900` (UTC) as µs since 1970, parsed here by hand."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{7})", text)
    assert m, text
    base = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(base.timestamp()) * 1_000_000 + int(m.group(2)) // 10


def test_the_registry_lists_each_format_once_with_a_reader() -> None:
    from ingest.sources import SOURCES

    assert list(FORMATS) == ["azure-llm", "mooncake", "burstgpt", "vidur", "swf", "azure-functions"]
    for f in FORMATS.values():
        assert f.reader in SOURCES, f.name


# ---------------------------------------------------------------- LLM request formats


def test_azure_llm_reads_back_with_the_same_rows(
    gen_lake: Path, tmp_path: Path, cli: CliRun
) -> None:
    out = tmp_path / "AzureLLMInferenceTrace_conv.csv"
    r = generate(gen_lake, AZURE_TRACE, out, "azure-llm", arrival_models=FAST)
    with out.open(newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == ["TIMESTAMP", "ContextTokens", "GeneratedTokens"]
        rows = [(epoch_us(t), int(i), int(o)) for t, i, o in reader]
    assert len(rows) == r.events > 10_000
    assert [t for t, _, _ in rows] == sorted(t for t, _, _ in rows)
    # the workload starts where the source does (2023-11-16 18:15:46.680590 UTC)
    assert rows[0][0] >= 1_700_158_546_680_590
    manifest = ingest_back(cli, [out], tmp_path / "lake")
    assert manifest["source"] == FORMATS["azure-llm"].reader == "azure_llm_2023"
    assert manifest["rows_written"] == len(rows) and manifest["rows_rejected"] == 0
    lake_rows = lake_sql(
        tmp_path / "lake",
        "SELECT epoch_us(ts), input_tokens, output_tokens FROM requests "
        "ORDER BY ts, input_tokens, output_tokens",
    )
    assert [tuple(x) for x in lake_rows] == sorted(rows)


def test_mooncake_reads_back_with_the_same_rows(
    gen_lake: Path, tmp_path: Path, cli: CliRun
) -> None:
    out = tmp_path / "conversation_trace.jsonl"
    r = generate(gen_lake, MOONCAKE_TRACE, out, "mooncake", arrival_models=FAST)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == r.events
    assert all(
        list(rec) == ["timestamp", "input_length", "output_length", "hash_ids"] for rec in records
    )
    assert [rec["timestamp"] for rec in records] == sorted(rec["timestamp"] for rec in records)
    manifest = ingest_back(cli, [out], tmp_path / "lake")
    assert manifest["source"] == "mooncake" and manifest["rows_written"] == len(records)
    lake_rows = lake_sql(
        tmp_path / "lake",
        "SELECT epoch_us(ts) // 1000, input_tokens, output_tokens, hash_ids, hash_block_tokens "
        "FROM requests ORDER BY ts, input_tokens, output_tokens, hash_ids",
    )
    expected = sorted(
        (rec["timestamp"], rec["input_length"], rec["output_length"], rec["hash_ids"])
        for rec in records
    )
    assert [(t, i, o, list(cast(list[int], h))) for t, i, o, h, _ in lake_rows] == expected
    assert {row[4] for row in lake_rows} == {512}


def test_mooncake_from_a_trace_without_hash_ids_says_every_block_is_new(
    gen_lake: Path, tmp_path: Path
) -> None:
    out = tmp_path / "from_azure.jsonl"
    r = generate(gen_lake, AZURE_TRACE, out, "mooncake", arrival_models=FAST)
    assert any("no prefix hashes" in n for n in r.notes)
    ids = [h for line in out.read_text().splitlines() for h in json.loads(line)["hash_ids"]]
    assert len(ids) == len(set(ids))
    assert "prefix reuse share" not in [s.name for s in r.fidelity.rows]


def test_burstgpt_reads_back_with_the_same_rows(
    gen_lake: Path, tmp_path: Path, cli: CliRun
) -> None:
    out = tmp_path / "BurstGPT_generated.csv"
    r = generate(gen_lake, AZURE_TRACE, out, "burstgpt", arrival_models=FAST)
    with out.open(newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == [
            "Timestamp", "Model", "Request tokens", "Response tokens", "Total tokens", "Log Type",
        ]  # fmt: skip
        rows = list(reader)
    assert len(rows) == r.events
    assert all(
        int(x["Total tokens"]) == int(x["Request tokens"]) + int(x["Response tokens"]) for x in rows
    )
    assert {x["Model"] for x in rows} == {"conversation"}  # the service, as the lake names it
    assert {x["Log Type"] for x in rows} == {"Conversation log"}
    manifest = ingest_back(cli, [out], tmp_path / "lake")
    assert manifest["source"] == "burstgpt" and manifest["rows_written"] == len(rows)
    lake_rows = lake_sql(
        tmp_path / "lake",
        "SELECT epoch_us(ts), service, kind, input_tokens, output_tokens FROM requests "
        "ORDER BY ts, input_tokens, output_tokens",
    )
    expected = sorted(
        (round(float(x["Timestamp"]) * 1e6), int(x["Request tokens"]), int(x["Response tokens"]))
        for x in rows
    )
    assert [(t, i, o) for t, _, _, i, o in lake_rows] == expected
    assert {(s, k) for _, s, k, _, _ in lake_rows} == {("conversation", "conversation")}


def test_vidur_reads_back_with_the_same_rows(gen_lake: Path, tmp_path: Path, cli: CliRun) -> None:
    out = tmp_path / "splitwise_generated.csv"
    r = generate(gen_lake, AZURE_TRACE, out, "vidur", arrival_models=FAST)
    with out.open(newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == ["arrived_at", "num_prefill_tokens", "num_decode_tokens"]
        rows = [(round(float(t) * 1e6), int(p), int(d)) for t, p, d in reader]
    assert len(rows) == r.events
    assert rows[0][0] >= 0 and rows[-1][0] < r.duration_s * 1e6
    manifest = ingest_back(cli, [out], tmp_path / "lake")
    assert manifest["source"] == "vidur_trace" and manifest["rows_written"] == len(rows)
    lake_rows = lake_sql(
        tmp_path / "lake",
        "SELECT epoch_us(ts), input_tokens, output_tokens FROM requests ORDER BY ALL",
    )
    assert [tuple(x) for x in lake_rows] == sorted(rows)


# ---------------------------------------------------------------- jobs


def test_swf_reads_back_with_the_same_jobs(gen_lake: Path, tmp_path: Path, cli: CliRun) -> None:
    import gzip

    out = tmp_path / "kth_generated.swf"
    r = generate(gen_lake, KTH_TRACE, out, "swf", arrival_models=FAST)
    lines = out.read_text().splitlines()
    header = [x for x in lines if x.startswith(";")]
    jobs = [x.split() for x in lines if x.strip() and not x.startswith(";")]
    with gzip.open(KTH, "rt") as f:
        src_lines = f.read().splitlines()
    src_header = [x for x in src_lines if x.startswith(";")]
    # the machine comes from the source's header; the log starts at the source's first job
    for key in ("MaxProcs", "MaxNodes"):
        want = next(x for x in src_header if x.startswith(f"; {key}:"))
        assert want in header, key
    src_start = int(next(x for x in src_header if "UnixStartTime" in x).split(":")[1])
    first_submit = min(int(x.split()[1]) for x in src_lines if x.strip() and x[0] != ";")
    assert f"; UnixStartTime: {src_start + first_submit}" in header
    assert "; Version: 2.2" in header and f"; MaxJobs: {len(jobs)}" in header
    assert len(jobs) == r.events and all(len(j) == 18 for j in jobs)
    assert [int(j[0]) for j in jobs] == list(range(1, len(jobs) + 1))
    assert all(j[2] == "-1" and j[4] == j[7] for j in jobs)  # no wait; allocated = requested
    manifest = ingest_back(cli, [out], tmp_path / "lake")
    assert manifest["source"] == "swf" and manifest["tables"]["jobs"] == len(jobs)
    start = int(next(x for x in header if "UnixStartTime" in x).split(":")[1])
    lake_rows = lake_sql(
        tmp_path / "lake",
        "SELECT CAST(job_id AS BIGINT), epoch(submit_ts), run_s, num_cpus, status_raw, tenant "
        "FROM jobs ORDER BY 1",
    )
    assert [(j, s, r_, c, st, u) for j, s, r_, c, st, u in lake_rows] == [
        (int(j[0]), start + int(j[1]), float(j[3]), float(j[7]), j[10], j[11]) for j in jobs
    ]


# ---------------------------------------------------------------- invocations


def read_invocations(path: Path) -> tuple[list[str], dict[str, list[int]]]:
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, {row[2]: [int(x) for x in row[4:]] for row in reader}


def test_azure_functions_reads_back_with_the_same_counts(
    gen_lake: Path, tmp_path: Path, cli: CliRun
) -> None:
    out = tmp_path / "invocations.csv"
    r = generate(gen_lake, FUNCTIONS_2019_TRACE, out, "azure-functions", arrival_models=FAST)
    header, counts = read_invocations(out)
    src_header, src_counts = read_invocations(FUNCTIONS_2019 / "invocations.csv")
    # the sampler's own layout: the same ids and the same window of minutes (480..959)
    assert header == src_header
    assert set(counts) == set(src_counts)
    assert sum(map(sum, counts.values())) == r.events
    manifest = ingest_back(cli, [out], tmp_path / "lake")
    assert manifest["source"] == "azure_functions_2019"
    lake_rows = lake_sql(
        tmp_path / "lake",
        "SELECT entity, CAST(epoch(ts) / 60 AS BIGINT) + 1, value FROM series ORDER BY ALL",
    )
    expected = sorted(
        (fn, int(header[4 + k]), float(n))
        for fn, row in counts.items()
        for k, n in enumerate(row)
        if n > 0
    )
    assert [tuple(x) for x in lake_rows] == expected


def test_azure_functions_over_two_days_is_one_file_per_day(
    two_day_functions: GenerateResult, tmp_path: Path, cli: CliRun
) -> None:
    r = two_day_functions
    # minutes 480..1440 of day 1, all of day 2, 1..479 of day 3 (each with invitro's
    # durations and memory files beside it)
    invocations = [f for f in r.files if f.name.startswith("invocations.")]
    assert [f.name for f in invocations] == [
        "invocations.d01.csv",
        "invocations.d02.csv",
        "invocations.d03.csv",
    ]
    headers = [read_invocations(f)[0][4:] for f in invocations]
    assert headers[0][0] == "480" and headers[0][-1] == "1440"
    assert headers[1] == [str(m) for m in range(1, 1441)]
    assert headers[2][-1] == "479"
    total = sum(sum(map(sum, read_invocations(f)[1].values())) for f in invocations)
    assert total == r.events
    ingest_back(cli, r.files, tmp_path / "lake")
    (span,) = lake_sql(tmp_path / "lake", "SELECT min(ts), max(ts), sum(value) FROM series")
    assert span[2] == total
    first, last = cast(datetime, span[0]), cast(datetime, span[1])
    assert (last - first).total_seconds() <= 2 * 86400 - 60


def test_azure_functions_from_timed_requests_counts_each_service(
    gen_lake: Path, tmp_path: Path, cli: CliRun
) -> None:
    out = tmp_path / "invocations.csv"
    r = generate(gen_lake, FUNCTIONS_2021_TRACE, out, "azure-functions", arrival_models=FAST)
    header, counts = read_invocations(out)
    assert header[:4] == ["HashOwner", "HashApp", "HashFunction", "Trigger"]
    assert sum(map(sum, counts.values())) == r.events
    src = {row[0] for row in lake_sql(gen_lake, "SELECT DISTINCT service FROM requests "
                                      f"WHERE trace = '{FUNCTIONS_2021_TRACE}'")}  # fmt: skip
    assert set(counts) == src  # the release's function hashes, kept
    manifest = ingest_back(cli, [out], tmp_path / "lake")
    assert manifest["source"] == "azure_functions_2019"


# ---------------------------------------------------------------- streaming and determinism


@pytest.mark.parametrize(
    ("trace", "fmt"),
    [(AZURE_TRACE, "azure-llm"), (MOONCAKE_TRACE, "mooncake"), (KTH_TRACE, "swf")],
)
def test_the_same_seed_writes_the_same_bytes(
    gen_lake: Path, tmp_path: Path, trace: str, fmt: str
) -> None:
    paths = [tmp_path / f"{name}.out" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (5, 5, 6), strict=True):
        generate(gen_lake, trace, path, fmt, seed=seed, arrival_models=FAST)
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b
    assert a != c


@pytest.mark.parametrize("fmt", ["azure-llm", "vidur", "burstgpt"])
def test_writing_in_small_chunks_writes_the_same_file(
    gen_lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    whole, chunked = tmp_path / "whole.csv", tmp_path / "chunked.csv"
    generate(gen_lake, AZURE_TRACE, whole, fmt, arrival_models=FAST)
    monkeypatch.setattr(formats, "CHUNK_ROWS", 777)
    generate(gen_lake, AZURE_TRACE, chunked, fmt, arrival_models=FAST)
    assert whole.read_bytes() == chunked.read_bytes()
    lines = whole.read_bytes().splitlines()
    assert len(lines) > 10 * 777  # many chunks
    assert sum(line == lines[0] for line in lines) == 1  # one header, not one per chunk


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), formats.atomic_text(target) as f:
        f.write("half")
        raise RuntimeError("interrupted")
    assert not target.exists() and not list(tmp_path.iterdir())


def test_rate_scale_multiplies_the_requests(gen_lake: Path, tmp_path: Path) -> None:
    base = generate(gen_lake, AZURE_TRACE, tmp_path / "x1.csv", "vidur", arrival_models=FAST)
    double = generate(
        gen_lake, AZURE_TRACE, tmp_path / "x2.csv", "vidur", rate_scale=2.0, arrival_models=FAST
    )
    assert double.events / base.events == pytest.approx(2.0, rel=0.05)
    rate = next(s for s in double.fidelity.rows if s.name == "rate (/s)")
    assert rate.passed  # compared with twice the source's rate
    half = generate(
        gen_lake,
        AZURE_TRACE,
        tmp_path / "half.csv",
        "vidur",
        duration_s=base.duration_s / 2,
        arrival_models=FAST,
    )
    with (tmp_path / "half.csv").open() as f:
        times = [float(row[0]) for row in list(csv.reader(f))[1:]]
    assert max(times) < base.duration_s / 2
    assert len(times) == half.events
    assert np.isclose(half.events / base.events, 0.5, rtol=0.1)
