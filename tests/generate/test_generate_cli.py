"""`traces generate`: what it prints and writes, its JSON, --check, and an exit code and one
clear paragraph for every mistake a user can make (2 usage, 1 data), never a traceback."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from generate.arrivals import CANDIDATES
from generate.formats import FORMATS
from tests.conftest import SHARED
from tests.generate.conftest import (
    ARXIV_TRACE,
    AZURE_TRACE,
    FUNCTIONS_2021,
    FUNCTIONS_2021_TRACE,
    KTH_TRACE,
    MOONCAKE,
    MOONCAKE_TRACE,
)

CliRun = Callable[..., tuple[int, str, str]]
UNEXPECTED = "Unexpected error"


def test_a_run_prints_the_model_and_the_table_and_writes_json(
    cli: CliRun, gen_lake: Path, tmp_path: Path
) -> None:
    out, js = tmp_path / "mc.jsonl", tmp_path / "fidelity.json"
    code, stdout, err = cli(
        "generate", "--lake", gen_lake, "--trace", MOONCAKE_TRACE, "--out", out,
        "--format", "mooncake", "--json", js, "--check",
    )  # fmt: skip
    assert code == 0, stdout + err
    lines = len(out.read_text().splitlines())
    assert stdout.startswith(f"Wrote {out}: {lines:,} requests over ")
    data = json.loads(js.read_text())
    model = data["fidelity"]["model"]["model"]
    assert model in CANDIDATES
    assert f"Arrivals: {model}" in stdout
    assert f"Fidelity of mc.jsonl to {MOONCAKE_TRACE}: passed" in stdout
    assert data["fidelity"]["passed"] is True and data["events"] == lines
    rows = {r["name"]: r for r in data["fidelity"]["rows"]}
    # the source side is the raw file's, counted here
    assert rows["requests"]["source"] == len(MOONCAKE.read_text().splitlines()) == 12_031
    assert rows["prefix reuse share"]["source"] == pytest.approx(0.3664, abs=1e-4)
    assert set(data["fidelity"]["tolerances"]) >= {"rate", "iat_cv", "spearman", "reuse_share"}
    # every candidate was fitted and compared
    assert {c["candidate"] for c in data["fidelity"]["model"]["selected_over"]} <= set(CANDIDATES)


def test_check_exits_1_when_a_statistic_is_out_of_tolerance(
    cli: CliRun, gen_lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generate import fidelity

    monkeypatch.setitem(
        fidelity.TOLERANCES, "rate", -1.0
    )  # no workload meets it (a distance is >= 0)
    out = tmp_path / "w.csv"
    code, stdout, err = cli(
        "generate", "--lake", gen_lake, "-t", MOONCAKE_TRACE, "-o", out, "-f", "vidur",
        "--check", "--seed", "3",
    )  # fmt: skip
    assert code == 1
    assert err.startswith("--check: ") and "rate (/s)" in err
    assert f"The workload was written anyway ({out})" in err
    assert out.is_file() and UNEXPECTED not in stdout + err
    # without --check the same run succeeds
    monkeypatch.undo()
    code, _, err = cli(
        "generate", "--lake", gen_lake, "-t", MOONCAKE_TRACE, "-o", out, "-f", "vidur",
        "--check", "--seed", "3",
    )  # fmt: skip
    assert code == 0, err


def test_services_keeps_only_those(cli: CliRun, gen_lake: Path, tmp_path: Path) -> None:
    with (FUNCTIONS_2021 / "AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv").open() as f:
        counts = Counter(r["func"] for r in csv.DictReader(f))
    busiest = sorted(name for name, _ in counts.most_common(2))
    out = tmp_path / "invocations.csv"
    code, stdout, err = cli(
        "generate", "--lake", gen_lake, "-t", FUNCTIONS_2021_TRACE, "-o", out,
        "-f", "azure-functions", "--services", ",".join(busiest),
    )  # fmt: skip
    assert code == 0, stdout + err
    with out.open(newline="") as f:
        functions = [row["HashFunction"] for row in csv.DictReader(f)]
    assert sorted(functions) == busiest


# ---------------------------------------------------------------- mistakes: exit 2 and 1


def run(cli: CliRun, lake: Path, tmp: Path, *args: str) -> tuple[int, str]:
    code, stdout, err = cli("generate", "--lake", lake, "--out", tmp / "x.out", *args)
    assert UNEXPECTED not in stdout + err and "Traceback" not in stdout + err
    assert not (tmp / "x.out").exists()
    return code, err.strip()


def test_an_unknown_format_lists_the_formats(cli: CliRun, gen_lake: Path, tmp_path: Path) -> None:
    code, err = run(cli, gen_lake, tmp_path, "-t", AZURE_TRACE, "-f", "azure_llm")
    assert code == 2
    assert err == (
        "Unknown format 'azure_llm' for --format. Did you mean 'azure-llm'? Formats: "
        "azure-llm, mooncake, burstgpt, vidur, swf, azure-functions."
    )


def test_an_unknown_trace_lists_the_traces(cli: CliRun, gen_lake: Path, tmp_path: Path) -> None:
    code, err = run(cli, gen_lake, tmp_path, "-t", "mooncake_conversaton", "-f", "mooncake")
    assert code == 2
    assert err.startswith(
        f"No trace named 'mooncake_conversaton' in the lake at {gen_lake}. "
        "Did you mean 'mooncake_conversation'? Traces: "
    )


def test_a_missing_lake_is_a_usage_error(cli: CliRun, tmp_path: Path) -> None:
    code, err = run(cli, tmp_path / "nolake", tmp_path, "-t", AZURE_TRACE, "-f", "vidur")
    assert code == 2 and err.startswith(f"No lake at {tmp_path / 'nolake'}.")


def test_a_format_the_trace_cannot_feed_says_which_fit(
    cli: CliRun, gen_lake: Path, tmp_path: Path
) -> None:
    code, err = run(cli, gen_lake, tmp_path, "-t", AZURE_TRACE, "-f", "swf")
    assert code == 1
    assert err == (
        "Trace azure_llm_2023_conv holds 19,366 timed requests; format swf writes batch jobs "
        "with submission times. Formats that fit it: azure-llm, mooncake, burstgpt, vidur, "
        "azure-functions."
    )
    code, err = run(cli, gen_lake, tmp_path, "-t", KTH_TRACE, "-f", "mooncake")
    assert code == 1
    assert err.endswith("format mooncake writes requests with input and output token counts. "
                        "Formats that fit it: swf.")  # fmt: skip
    code, err = run(cli, gen_lake, tmp_path, "-t", FUNCTIONS_2021_TRACE, "-f", "azure-llm")
    assert code == 1 and "998 timed requests without token counts" in err
    assert err.endswith("Formats that fit it: azure-functions.")


def test_a_trace_without_arrival_times_fits_no_format(
    cli: CliRun, gen_lake: Path, tmp_path: Path
) -> None:
    code, err = run(cli, gen_lake, tmp_path, "-t", ARXIV_TRACE, "-f", "vidur")
    assert code == 1
    assert err.startswith(f"Trace {ARXIV_TRACE} holds no timed requests, jobs or invocation")
    assert "No format fits it" in err


def test_unknown_services_are_named_with_the_known_ones(
    cli: CliRun, gen_lake: Path, tmp_path: Path
) -> None:
    code, err = run(
        cli, gen_lake, tmp_path, "-t", AZURE_TRACE, "-f", "vidur", "--services", "conversaton,chat"
    )
    assert code == 2
    assert err == (
        "Unknown services 'conversaton' (did you mean 'conversation'?), 'chat' for --services "
        "in trace azure_llm_2023_conv. Services: conversation."
    )
    code, err = run(cli, gen_lake, tmp_path, "-t", MOONCAKE_TRACE, "-f", "vidur", "--services", "a")
    assert code == 2
    assert err == (
        "Trace mooncake_conversation records no services, so --services cannot pick any."
    )
    code, err = run(
        cli, gen_lake, tmp_path, "-t", FUNCTIONS_2021_TRACE, "-f", "azure-functions",
        "--services", "nope",
    )  # fmt: skip
    assert code == 2 and err.endswith(", ... (49 in all).")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--rate-scale", "0", "--rate-scale must be a positive number; got 0.0."),
        ("--duration", "-5", "--duration must be a positive number of seconds; got -5.0."),
    ],
)
def test_numbers_out_of_range_are_usage_errors(
    cli: CliRun, gen_lake: Path, tmp_path: Path, option: str, value: str, message: str
) -> None:
    code, err = run(cli, gen_lake, tmp_path, "-t", AZURE_TRACE, "-f", "vidur", option, value)
    assert code == 2 and err == message


def test_help_teaches_every_format(cli: CliRun) -> None:
    code, stdout, _ = cli("generate", "--help")
    assert code == 0
    text = " ".join(stdout.split())
    for name in FORMATS:
        assert name in text
    assert "traces generate" in text and "--rate-scale" in text and "--check" in text


# ---------------------------------------------------------------- every real trace


# Each real LLM, serverless and job trace in ../shared, in the format it fits best.
REAL = [
    ("llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv", "azure-llm"),
    ("llm_serving/mooncake_fast25/conversation_trace.jsonl", "mooncake"),
    ("llm_serving/vidur_processed_traces/splitwise_conv.csv", "vidur"),
    ("llm_serving/alibaba_genai_gentd26/lora_request_trace.csv", "azure-functions"),
    ("serverless/azure_functions_2019_invitro_sample100", "azure-functions"),
    ("serverless/azure_functions_2021", "azure-functions"),
    ("datacenter/pwa_swf_kth_sp2", "swf"),
    ("datacenter/google_borg_2011/job_events", "swf"),
    ("datacenter/google_borg_2011/task_events", "swf"),
    ("datacenter/alibaba_v2017_batch_task", "swf"),
    ("datacenter/alibaba_gpu_v2023_openb/openb_pod_list_default.csv", "swf"),
    ("datacenter/alibaba_gpu_v2025_dlrm", "swf"),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "fmt"), REAL, ids=lambda v: "/".join(str(v).split("/")[1:3]) or str(v)
)
def test_every_real_trace_generates_within_tolerance_and_reads_back(
    cli: CliRun, tmp_path: Path, path: str, fmt: str
) -> None:
    """The issue's bar: at rate 1 the workload passes --check, and reads back by detection."""
    from ingest.lake import Lake
    from ingest.pipeline import ingest_paths

    lake = tmp_path / "lake"
    report = ingest_paths([SHARED / path], lake)
    assert not report.failures
    trace = next(r.trace for r in report.results if r.tables.get("jobs") or
                 r.tables.get("requests") or r.tables.get("series"))  # fmt: skip
    out = tmp_path / "out" / ("invocations.csv" if fmt == "azure-functions" else f"w.{fmt}")
    code, stdout, err = cli(
        "generate", "--lake", lake, "-t", trace, "-o", out, "-f", fmt, "--check"
    )
    assert code == 0, stdout + err
    # (an azure-functions workload of more than a day is one file per day in that folder)
    code, stdout, err = cli("ingest", out.parent, "--lake", tmp_path / "back")
    assert code == 0, stdout + err
    assert [m["source"] for m in Lake.open(tmp_path / "back").manifests()] == [FORMATS[fmt].reader]
