"""Scoring two traces of a lake (`traces compare-workloads`), and the fidelity of generated
arrivals on every real LLM, serverless and job trace in ../shared.

Numbers a user sees are checked against the raw files, read here with the csv and json
modules (no parser of the project)."""

from __future__ import annotations

import csv
import json
import statistics
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from analysis.db import LakeDB
from generate.arrivals import fit_arrivals
from generate.compare import NoArrivals, compare_workloads, trace_arrivals
from generate.fidelity import arrival_fidelity
from ingest.errors import DataError, UnknownTrace

AZURE = Path("llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv")
MOONCAKE = Path("llm_serving/mooncake_fast25/conversation_trace.jsonl")
AZURE_2019 = Path("serverless/azure_functions_2019_invitro_sample100/invocations.csv")

# Every real trace of ../shared with timed arrivals: LLM serving, serverless, jobs. (ServeGen
# publishes per-client rates, not arrivals; Vidur's arXiv trace has no timestamps.)
REAL_TRACES = (
    "azure_llm_2023_conv",
    "vidur_splitwise_conv",
    "mooncake_conversation",
    "alibaba_genai_2026",
    "azure_functions_2019",
    "azure_functions_2021",
    "alibaba_2017_batch_task",
    "alibaba_dlrm_2025",
    "alibaba_gpu_2023_pods_default",
    "google_2011_jobs",
    "google_2011_tasks",
    "swf_kth_sp2_1996_2_1_cln",
)


@pytest.fixture
def db(sample_lake: Path):
    lake_db = LakeDB(sample_lake)
    yield lake_db
    lake_db.close()


def rows_by_name(table) -> dict:
    return {r.name: r for r in table.rows}


# ---------------------------------------------------------------- against the raw files


def test_a_derived_copy_is_at_distance_zero_and_its_numbers_are_the_raw_files(
    db: LakeDB, shared: Path
):
    with (shared / AZURE).open(newline="") as f:
        raw = list(csv.DictReader(f))
    stamps = [datetime.fromisoformat(r["TIMESTAMP"][:26]) for r in raw]
    span = (max(stamps) - min(stamps)).total_seconds() + 1e-6  # last - first + one tick
    table = compare_workloads(db, "azure_llm_2023_conv", "vidur_splitwise_conv")
    rows = rows_by_name(table)
    assert table.passed
    assert all(r.distance == 0 for r in table.rows if r.checked and r.name != "rate (/s)")
    assert rows["requests"].source == len(raw) == 19_366
    assert rows["rate (/s)"].source == pytest.approx(len(raw) / span, rel=1e-6)
    outputs = sorted(int(r["GeneratedTokens"]) for r in raw)
    assert rows["output_tokens p50"].source == statistics.median(outputs) == 129
    assert rows["input_tokens p50"].source == 1020


def test_two_different_traces_fail_and_say_where(db: LakeDB, shared: Path):
    with (shared / MOONCAKE).open() as f:
        lines = [json.loads(line) for line in f if line.strip()]
    table = compare_workloads(db, "mooncake_conversation", "azure_llm_2023_conv")
    rows = rows_by_name(table)
    assert not table.passed
    assert rows["requests"].source == len(lines) == 12_031
    assert rows["input_tokens p50"].source == statistics.median(x["input_length"] for x in lines)
    assert not rows["input_tokens KS"].passed
    # Mooncake's batched 3 s clock is the clock of the comparison
    assert "both measured on a 3 s clock" in table.notes
    assert not any(r.name.endswith(" ms") for r in table.rows)
    # prefix reuse needs hash ids on both sides: Azure has none
    assert "prefix reuse share" not in rows


def test_per_minute_counts_are_arrivals_spread_over_their_minute(db: LakeDB, shared: Path):
    with (shared / AZURE_2019).open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        minutes = [i for i, h in enumerate(header) if h.isdigit()]
        total = sum(int(row[i]) for row in reader for i in minutes if row[i])
    arrivals = trace_arrivals(db, "azure_functions_2019")
    assert arrivals.counts_only and arrivals.resolution_s == 60
    assert arrivals.ts_s.size == total
    assert np.all(np.mod(arrivals.ts_s, 60) == 0)


def test_a_trace_without_arrivals_is_a_data_error_that_says_why(db: LakeDB):
    with pytest.raises(NoArrivals) as info:
        compare_workloads(db, "azure_llm_2023_conv", "vidur_arxiv_summarization")
    assert isinstance(info.value, DataError)
    assert str(info.value).startswith(
        "Trace 'vidur_arxiv_summarization' has no arrivals to compare: its timestamps are "
        "absent (the source records no arrival time). It holds requests (28,257 rows)."
    )


def test_an_unknown_trace_is_a_usage_error(db: LakeDB):
    with pytest.raises(UnknownTrace, match="No trace named 'azure_llm_2023_cnv'"):
        compare_workloads(db, "azure_llm_2023_cnv", "azure_llm_2023_conv")


# ---------------------------------------------------------------- the command


def test_compare_workloads_command(cli, sample_lake: Path, tmp_path: Path):
    out_json = tmp_path / "f.json"
    code, out, err = cli(
        "compare-workloads",
        "azure_llm_2023_conv",
        "vidur_splitwise_conv",
        "--lake",
        sample_lake,
        "--json",
        out_json,
        "--check",
    )
    assert code == 0, err
    assert "Fidelity of vidur_splitwise_conv to azure_llm_2023_conv: passed" in out
    data = json.loads(out_json.read_text())
    assert data["passed"] is True and data["source"] == "azure_llm_2023_conv"
    assert {r["name"] for r in data["rows"]} >= {"rate (/s)", "IDC at 1 min", "input_tokens KS"}

    code, out, err = cli(
        "compare-workloads", "mooncake_conversation", "azure_llm_2023_conv", "--lake",
        sample_lake, "--check",
    )  # fmt: skip
    assert code == 1
    assert err.startswith("--check: ") and "outside tolerance: rate (/s)" in err
    assert "FAIL" in out

    code, _, err = cli(
        "compare-workloads", "azure_llm_2023_conv", "vidur_arxiv_summarization", "--lake",
        sample_lake,
    )  # fmt: skip
    assert code == 1 and "has no arrivals to compare" in err and "Unexpected" not in err

    code, _, err = cli(
        "compare-workloads", "mooncake_conversaton", "azure_llm_2023_conv", "--lake", sample_lake
    )
    assert code == 2
    assert "Did you mean 'mooncake_conversation'?" in err and "azure_functions_2019" in err


# ---------------------------------------------------------------- real traces, rate 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "trace",
    REAL_TRACES,
)
def test_generated_arrivals_at_rate_one_pass_the_tolerances(db: LakeDB, trace: str):
    src = trace_arrivals(db, trace)
    model = fit_arrivals(src.ts_s, span_s=src.span_s, resolution_s=src.resolution_s)
    gen = model.sample(src.span_s, 1.0, np.random.default_rng(0))
    rows = arrival_fidelity(src.ts_s, gen, src.span_s, src.span_s, resolution_s=src.resolution_s)
    failed = [(r.name, r.distance, r.tolerance) for r in rows if r.passed is False]
    assert len([r for r in rows if r.checked]) >= 5
    assert not failed, (model.name, failed)
