"""Values are kept or rejected, never changed: one regression test per class of issue 11.

Every case starts from a few lines of a real sample in ../shared/traces (a schema fixture only
for sources without real rows), mutates one line, and checks the exact rejects (line, slug)
and that every other row reads exactly as it did before the mutation, or as the raw text says
(parsed here with the csv module and datetime, independently of the code under test).
"""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.errors import DataError
from ingest.sources import SOURCES
from tests.conftest import FIXTURES, SHARED
from tests.sources.values_support import bag, csv_fields, lines_of, read_checked, write_lines

AZURE = "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
SWF = "datacenter/pwa_swf_kth_sp2/KTH-SP2-1996-2.1-cln.swf.gz"
VM_NOISE = (
    "vm_interference/azure_vm_noise_2024/vm-noise-data/test_suite=Intel_Memory_Latency_Checker/"
    "test_name=Test:_Idle_Latency/vm_lifespan=long/vm_region=eastus/vm_sku=B8ms/unit=ns.csv"
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# (source, base folder, file, has a header line, an all-empty line is rejected)
CSV_SAMPLES = [
    ("azure_llm_2023", SHARED, AZURE, True, True),
    ("vidur_trace", SHARED, "llm_serving/vidur_processed_traces/splitwise_conv.csv", True, True),
    (
        "vidur_trace_untimed",
        SHARED,
        "llm_serving/vidur_processed_traces/arxiv_summarization_stats_llama2_tokenizer_filtered_v2.csv",
        True,
        False,
    ),
    (
        "alibaba_genai_2026",
        SHARED,
        "llm_serving/alibaba_genai_gentd26/lora_request_trace.csv",
        True,
        True,
    ),
    (
        "servegen",
        SHARED,
        "llm_serving/alibaba_servegen/multimodal/mm-image/chunk-7-trace.csv",
        False,
        True,
    ),
    (
        "vidur_profiling",
        SHARED,
        "llm_serving/vidur_profiling/compute/a100/microsoft/phi-2/mlp.csv",
        True,
        True,
    ),
    (
        "vidur_profiling",
        SHARED,
        "llm_serving/vidur_profiling/network/h100_dgx/all_reduce.csv",
        True,
        True,
    ),
    (
        "azure_functions_2019",
        SHARED,
        "serverless/azure_functions_2019_invitro_sample100/invocations.csv",
        True,
        True,
    ),
    (
        "azure_functions_2019",
        SHARED,
        "serverless/azure_functions_2019_invitro_sample100/durations.csv",
        True,
        True,
    ),
    (
        "azure_functions_2019",
        SHARED,
        "serverless/azure_functions_2019_invitro_sample100/memory.csv",
        True,
        True,
    ),
    (
        "azure_functions_2021",
        SHARED,
        "serverless/azure_functions_2021/AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv",
        True,
        True,
    ),
    ("azure_vm_noise_2024", SHARED, VM_NOISE, True, True),
    (
        "alibaba_pai_minibatch_2020",
        SHARED,
        "vm_interference/alibaba_pai_minibatch_time_2020/job_1_norm.csv",
        True,
        True,
    ),
    (
        "alibaba_pai_minibatch_2020",
        SHARED,
        "vm_interference/alibaba_pai_minibatch_time_2020/coefficient_variation.csv",
        True,
        True,
    ),
    ("acme_cluster_summary", SHARED, "datacenter/acme_trace/cluster_summary.csv", True, True),
    (
        "alibaba_gpu_2023_pods",
        SHARED,
        "datacenter/alibaba_gpu_v2023_openb/openb_pod_list_default.csv",
        True,
        True,
    ),
    (
        "alibaba_gpu_2023_nodes",
        SHARED,
        "datacenter/alibaba_gpu_v2023_openb/openb_node_list_all_node.csv",
        True,
        True,
    ),
    (
        "alibaba_dlrm_2025",
        SHARED,
        "datacenter/alibaba_gpu_v2025_dlrm/disaggregated_DLRM_trace.csv",
        True,
        True,
    ),
    (
        "alibaba_spot_gpu_2026",
        SHARED,
        "datacenter/alibaba_spot_gpu_v2026/node_info_df.csv",
        True,
        True,
    ),
    (
        "alibaba_2017_batch",
        SHARED,
        "datacenter/alibaba_v2017_batch_task/batch_task.csv",
        True,
        True,
    ),
    (
        "alibaba_2018_machine_usage",
        SHARED,
        "datacenter/alibaba_v2018_machine_prefix/machine_usage.csv",
        False,
        True,
    ),
    (
        "alibaba_2018_machine_meta",
        SHARED,
        "datacenter/alibaba_v2018_machine_prefix/machine_meta.csv",
        False,
        True,
    ),
    (
        "google_2011_jobs",
        SHARED,
        "datacenter/google_borg_2011/job_events/part-00000-of-00500.csv.gz",
        False,
        True,
    ),
    (
        "google_2011_tasks",
        SHARED,
        "datacenter/google_borg_2011/task_events/part-00001-of-00500.csv.gz",
        False,
        True,
    ),
    # Sources without real rows here: their schema fixtures.
    ("burstgpt", FIXTURES, "burstgpt_schema_fixture.csv", True, True),
    ("helios", FIXTURES, "helios/Venus/cluster_log.csv", True, True),
    ("acme_jobs", FIXTURES, "acme/trace_seren.csv", True, True),
    (
        "huawei_2023",
        FIXTURES,
        "huawei_2023/private_dataset/requests_minute/day_000.csv",
        True,
        True,
    ),
    ("huawei_2025", FIXTURES, "huawei_2025/cold_start/R1/day_00.csv", True, True),
    ("alibaba_pai_2020_jobs", FIXTURES, "alibaba_pai_2020/pai_job_table.csv", False, True),
    ("alibaba_pai_2020_tasks", FIXTURES, "alibaba_pai_2020/pai_task_table.csv", False, True),
]
IDS = [f"{s}:{Path(f).name}" for s, _, f, _, _ in CSV_SAMPLES]
EXCERPT = 40  # lines of each sample the generic cases start from
AT = 3  # the line a generic mutation puts its line at


def lf(lines: list[str]) -> list[str]:
    """Lines ending in LF: a mutated line must not mix line endings (that is refused whole)."""
    return [x.rstrip("\r\n") + "\n" for x in lines]


def _excerpt(
    base: Path, rel: str, tmp: Path, name: str, lines: list[str] | None = None, bom: bool = False
) -> Path:
    """A few real lines at the same relative path (sources read folders: partitions, metrics)."""
    src = base / rel
    return write_lines(
        tmp / name / rel, lines if lines is not None else lines_of(src, EXCERPT), bom
    )


@pytest.mark.parametrize(("source", "base", "rel", "header", "required"), CSV_SAMPLES, ids=IDS)
def test_a_byte_order_mark_changes_nothing(
    source: str, base: Path, rel: str, header: bool, required: bool, tmp_path: Path
) -> None:
    plain = read_checked(SOURCES[source], [_excerpt(base, rel, tmp_path, "plain")])
    marked = read_checked(SOURCES[source], [_excerpt(base, rel, tmp_path, "bom", bom=True)])
    assert plain.rejected == [] and marked.rejected == []
    assert bag(marked.rows) == bag(plain.rows)
    assert sum(len(r) for r in plain.rows.values()) > 0


@pytest.mark.parametrize(
    ("source", "base", "rel", "header", "required"),
    [c for c in CSV_SAMPLES if c[3]],
    ids=[i for i, c in zip(IDS, CSV_SAMPLES, strict=True) if c[3]],
)
def test_a_repeated_header_is_a_rejected_line(
    source: str, base: Path, rel: str, header: bool, required: bool, tmp_path: Path
) -> None:
    lines = lines_of(base / rel, EXCERPT)
    plain = read_checked(SOURCES[source], [_excerpt(base, rel, tmp_path, "plain", lines)])
    mutated = [*lines[: AT - 1], lines[0], *lines[AT - 1 :]]
    got = read_checked(SOURCES[source], [_excerpt(base, rel, tmp_path, "header", mutated)])
    assert got.lines() == [(AT, "repeated-header")]
    assert bag(got.rows) == bag(plain.rows)


@pytest.mark.parametrize(("source", "base", "rel", "header", "required"), CSV_SAMPLES, ids=IDS)
def test_a_line_of_empty_fields(
    source: str, base: Path, rel: str, header: bool, required: bool, tmp_path: Path
) -> None:
    lines = lines_of(base / rel, EXCERPT)
    plain = read_checked(SOURCES[source], [_excerpt(base, rel, tmp_path, "plain", lines)])
    empty = "," * (len(csv_fields(lines[0])) - 1) + "\n"
    mutated = [*lines[: AT - 1], empty, *lines[AT - 1 :]]
    got = read_checked(SOURCES[source], [_excerpt(base, rel, tmp_path, "empty", mutated)])
    if required:
        # The line names no id or time: rejected, and every other row is as before.
        assert got.lines() == [(AT, "missing-field")]
        assert bag(got.rows) == bag(plain.rows)
    else:
        # Nothing here is required: the row is kept, empty (quality reports it, see below).
        assert got.rejected == []
        assert {t: len(r) for t, r in got.rows.items()} == {
            t: len(r) + 1 for t, r in plain.rows.items()
        }


# ---------------------------------------------------------------- 1. strict whole numbers


def test_token_counts_are_never_rounded(tmp_path: Path) -> None:
    lines = lf(lines_of(SHARED / AZURE, 12))
    bad = {3: "10.5", 4: "1e400", 5: "99999999999999999999", 6: "-5", 7: "nan", 8: "0x10"}
    mutated = list(lines)
    for n, value in bad.items():
        ts, _, out = csv_fields(lines[n - 1])
        mutated[n - 1] = f"{ts},{value},{out}\n"
    # Written as 374.0 a whole count is still 374: kept, as the number it is.
    ts, ctx, out = csv_fields(lines[9])
    mutated[9] = f"{ts},{ctx}.0,{out}\n"
    f = write_lines(tmp_path / "AzureLLMInferenceTrace_conv.csv", mutated)
    got = read_checked(SOURCES["azure_llm_2023"], [f])
    assert got.lines() == [
        (3, "unparsable-value"),
        (4, "unparsable-value"),
        (5, "unparsable-value"),
        (6, "negative-count"),
        (7, "unparsable-value"),
        (8, "unparsable-value"),
    ]
    messages = {r.line: r.message for r in got.rejected}
    assert messages[3] == "ContextTokens: '10.5' is not a whole number"
    assert messages[5] == (
        "ContextTokens: '99999999999999999999' is too long: whole numbers here have at most "
        "15 characters (below 10^15)"
    )
    assert messages[6] == "ContextTokens: '-5' is below zero"
    assert {r.line: r.raw for r in got.rejected}[3] == mutated[2].rstrip("\r\n")
    # The other rows, exactly as the raw text says.
    expected = []
    for n, line in enumerate(lines[1:], start=2):
        if n in bad:
            continue
        ts, ctx, out = csv_fields(line)
        when = datetime.strptime(ts[:26], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        expected.append((when, int(ctx), int(out)))
    kept = [(r["ts"], r["input_tokens"], r["output_tokens"]) for r in got.rows["requests"]]
    assert kept == expected


def test_a_google_clock_is_exact_to_the_microsecond_and_must_be_digits(tmp_path: Path) -> None:
    rel = "datacenter/google_borg_2011/job_events/part-00001-of-00500.csv.gz"
    lines = lines_of(SHARED / rel, 30)
    fields = [csv_fields(line) for line in lines]
    mutated = list(lines)
    mutated[2] = ",".join(["1.5e6", *fields[2][1:]]) + "\n"  # line 3: not plain digits
    mutated[3] = ",".join([fields[3][0], fields[3][1], "12.5", *fields[3][3:]]) + "\n"  # job id
    f = write_lines(tmp_path / "job_events" / "part-00001-of-00500.csv.gz", mutated)
    got = read_checked(SOURCES["google_2011_jobs"], [f])
    assert got.lines() == [(3, "unparsable-value"), (4, "unparsable-value")]
    assert [r.message for r in sorted(got.rejected, key=lambda r: r.line or 0)] == [
        "timestamp: '1.5e6' is not a whole number",
        "job_id: '12.5' is not a whole number",
    ]
    # Every other line's job is there. A job seen once, ending (FINISH, FAIL, KILL, EVICT,
    # LOST), ended at its raw microsecond minus the trace's 600 s offset, to the microsecond.
    others = [f for n, f in enumerate(fields, start=1) if n not in (3, 4)]
    jobs = {r["job_id"]: r for r in got.rows["jobs"]}
    assert set(jobs) == {f[2] for f in others}
    ids = [f[2] for f in others]
    ended = [f for f in others if ids.count(f[2]) == 1 and f[3] in ("2", "3", "4", "5", "6")]
    assert len(ended) >= 5
    for f in ended:
        micros = (jobs[f[2]]["end_ts"] - EPOCH) // timedelta(microseconds=1)
        assert micros == int(f[0]) - 600_000_000


def test_wide_invocation_counts_are_whole_numbers(tmp_path: Path) -> None:
    rel = "serverless/azure_functions_2019_invitro_sample100/invocations.csv"
    lines = lines_of(SHARED / rel, 6)
    header = csv_fields(lines[0])
    row3, row4 = csv_fields(lines[2]), csv_fields(lines[3])
    first, later = header[4 + 6], header[4 + 400]  # two of the file's minute columns
    row3[header.index(first)] = "10.5"
    row4[header.index(later)] = "-1"
    mutated = [lines[0], lines[1], ",".join(row3) + "\n", ",".join(row4) + "\n", *lines[4:]]
    f = write_lines(tmp_path / "invocations.csv", mutated)
    got = read_checked(SOURCES["azure_functions_2019"], [f])
    assert got.lines() == [(3, "unparsable-value"), (4, "negative-count")]
    assert [r.message for r in got.rejected] == [
        f"{first}: '10.5' is not a whole number",
        f"{later}: '-1' is below zero",
    ]
    # The other lines: one row per minute with invocations, the count as written.
    expected = set()
    for line in [lines[1], *lines[4:]]:
        row = csv_fields(line)
        for minute, count in zip(header[4:], row[4:], strict=True):
            if int(count) > 0:
                expected.add((row[2], int(minute), float(count)))
    kept = {
        (r["entity"], int((r["ts"] - EPOCH) / timedelta(minutes=1)) + 1, r["value"])
        for r in got.rows["series"]
    }
    assert kept == expected


def test_genai_counts_written_as_floats_are_kept_and_halves_rejected(tmp_path: Path) -> None:
    rel = "llm_serving/alibaba_genai_gentd26/lora_request_trace.csv"
    lines = lines_of(SHARED / rel, 8)
    header = csv_fields(lines[0])
    row = csv_fields(lines[2])
    assert row[header.index("num_inference_steps")].endswith(".0")  # the release writes 30.0
    row[header.index("num_inference_steps")] = "30.5"
    mutated = [*lines[:2], ",".join(row) + "\n", *lines[3:]]
    got = read_checked(SOURCES["alibaba_genai_2026"], [write_lines(tmp_path / "t.csv", mutated)])
    assert got.lines() == [(3, "unparsable-value")]
    import json

    steps = [json.loads(r["extra"]).get("steps") for r in got.rows["requests"]]
    raw = [csv_fields(line)[header.index("num_inference_steps")] for line in lines[1:]]
    assert steps == [int(float(v)) if v else None for n, v in enumerate(raw, start=2) if n != 3]


# ---------------------------------------------------------------- 2. times: zones and range


def test_a_zone_in_the_zone_less_2023_format_is_a_rejected_line(tmp_path: Path) -> None:
    lines = lf(lines_of(SHARED / AZURE, 10))
    mutated = list(lines)
    ts, ctx, out = csv_fields(lines[2])
    mutated[2] = f"{ts}+05:00,{ctx},{out}\n"
    ts, ctx, out = csv_fields(lines[4])
    mutated[4] = f"infinity,{ctx},{out}\n"
    ts, ctx, out = csv_fields(lines[6])
    mutated[6] = f"0000{ts[4:]},{ctx},{out}\n"
    f = write_lines(tmp_path / "AzureLLMInferenceTrace_conv.csv", mutated)
    got = read_checked(SOURCES["azure_llm_2023"], [f])
    assert got.lines() == [
        (3, "unparsable-value"),
        (5, "out-of-range-timestamp"),
        (7, "out-of-range-timestamp"),
    ]
    assert (
        got.rejected[0].message
        == f"TIMESTAMP: '{csv_fields(lines[2])[0]}+05:00' is not a timestamp"
    )
    assert len(got.rows["requests"]) == len(lines) - 1 - 3


def test_a_zone_in_the_2024_format_is_converted_exactly(tmp_path: Path) -> None:
    # The 2024 release writes zones (+00:00); a +05:00 is the same instant 5 hours earlier.
    lines = lf(lines_of(SHARED / AZURE, 6))
    zoned = [lines[0]]
    for n, line in enumerate(lines[1:], start=2):
        ts, ctx, out = csv_fields(line)
        zoned.append(f"{ts[:26]}{'+05:00' if n == 3 else '+00:00'},{ctx},{out}\n")
    f = write_lines(tmp_path / "AzureLLMInferenceTrace_code_1week.csv", zoned)
    got = read_checked(SOURCES["azure_llm_2024"], [f])
    assert got.rejected == []
    expected = [
        datetime.strptime(csv_fields(line)[0][:26], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        - (timedelta(hours=5) if n == 3 else timedelta(0))
        for n, line in enumerate(lines[1:], start=2)
    ]
    assert [r["ts"] for r in got.rows["requests"]] == expected


def test_vm_noise_times_with_a_zone_are_converted_and_year_10000_is_rejected(
    tmp_path: Path,
) -> None:
    lines = lines_of(SHARED / VM_NOISE, 12)
    mutated = list(lines)
    value, runtime, start, vm = csv_fields(lines[2])
    mutated[2] = f"{value},{runtime},{start}+05:00,{vm}\n"
    value, runtime, start, vm = csv_fields(lines[3])
    mutated[3] = f"{value},{runtime},10000{start[4:]},{vm}\n"
    f = write_lines(tmp_path / "zoned" / VM_NOISE, mutated)
    got = read_checked(SOURCES["azure_vm_noise_2024"], [f])
    assert got.lines() == [(4, "out-of-range-timestamp")]
    times = sorted(r["ts"] for r in got.rows["measurements"])
    expected = []
    for n, line in enumerate(lines[1:], start=2):
        if n == 4:
            continue
        start = datetime.fromisoformat(csv_fields(line)[2]).replace(tzinfo=UTC)
        expected.append(start - (timedelta(hours=5) if n == 3 else timedelta(0)))
    assert times == sorted(expected)


def test_relative_times_outside_the_lake_and_non_finite_numbers(tmp_path: Path) -> None:
    rel = "serverless/azure_functions_2021/AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv"
    lines = lines_of(SHARED / rel, 10)
    rows = [csv_fields(line) for line in lines]
    mutated = list(lines)
    mutated[2] = ",".join([*rows[2][:2], "1e300", rows[2][3]]) + "\n"
    mutated[3] = ",".join([*rows[3][:3], "inf"]) + "\n"
    mutated[4] = ",".join([*rows[4][:2], "nan", rows[4][3]]) + "\n"
    got = read_checked(SOURCES["azure_functions_2021"], [write_lines(tmp_path / rel, mutated)])
    assert got.lines() == [
        (3, "out-of-range-timestamp"),
        (4, "non-finite-number"),
        (5, "non-finite-number"),
    ]
    # ts = end - duration, in whole microseconds, for every line left alone, in file order.
    left = [r for n, r in enumerate(rows[1:], start=2) if n not in (3, 4, 5)]
    kept = got.rows["requests"]
    assert [(r["ts"] - EPOCH) // timedelta(microseconds=1) for r in kept] == [
        round((float(r[2]) - float(r[3])) * 1e6) for r in left
    ]
    assert [r["duration_s"] for r in kept] == [float(r[3]) for r in left]


def test_machine_usage_infinity_is_rejected_not_stored(tmp_path: Path) -> None:
    rel = "datacenter/alibaba_v2018_machine_prefix/machine_usage.csv"
    lines = lines_of(SHARED / rel, 10)
    row = csv_fields(lines[1])
    row[2] = "inf"
    mutated = [lines[0], ",".join(row) + "\n", *lines[2:]]
    got = read_checked(
        SOURCES["alibaba_2018_machine_usage"], [write_lines(tmp_path / rel, mutated)]
    )
    assert got.lines() == [(2, "non-finite-number")]
    assert got.rejected[0].message == "cpu_util_percent: 'inf' is not a finite number"
    values = [r["value"] for r in got.rows["series"]]
    assert all(v is None or (v == v and abs(v) != float("inf")) for v in values)


# ---------------------------------------------------------------- SWF: header, BOM, fields


def test_a_byte_order_mark_keeps_the_swf_start_time(tmp_path: Path) -> None:
    lines = lines_of(SHARED / SWF, 40)
    f = write_lines(tmp_path / "KTH-SP2-1996-2.1-cln.swf", lines, bom=True)
    got = read_checked(SOURCES["swf"], [f])
    assert got.rejected == []
    start = next(int(x.split(":")[1]) for x in lines if x.startswith("; UnixStartTime:"))
    jobs = [x.split() for x in lines if x.strip() and not x.startswith(";")]
    submits = [(r["job_id"], r["submit_ts"]) for r in got.rows["jobs"]]
    assert submits == [(j[0], EPOCH + timedelta(seconds=start + int(j[1]))) for j in jobs]
    assert SOURCES["swf"].sniff(f.read_bytes(), f.name)


def test_a_300_digit_swf_header_value_names_the_file_and_line(tmp_path: Path) -> None:
    lines = lines_of(SHARED / SWF, 40)
    n = next(i for i, x in enumerate(lines) if x.startswith("; UnixStartTime:"))
    huge = "9" * 300
    f = write_lines(
        tmp_path / "huge.swf", [*lines[:n], f"; UnixStartTime: {huge}\n", *lines[n + 1 :]]
    )
    with pytest.raises(DataError) as e:
        read_checked(SOURCES["swf"], [f])
    assert str(e.value) == (
        f"{f}, line {n + 1}: UnixStartTime is '999999999999999999999999... (300 characters)'; "
        "expected the log's start in Unix seconds, a whole number within the years 1 to 9999. "
        "Fix that header line and ingest again (without it, times count from 1970-01-01); "
        "the lake is unchanged."
    )
    m = next(i for i, x in enumerate(lines) if x.startswith("; MaxProcs:"))
    f = write_lines(tmp_path / "procs.swf", [*lines[:m], f"; MaxProcs: {huge}\n", *lines[m + 1 :]])
    with pytest.raises(DataError, match=rf"procs\.swf, line {m + 1}: MaxProcs is '9999"):
        read_checked(SOURCES["swf"], [f])


def test_swf_ids_must_be_whole_and_times_must_fit(tmp_path: Path) -> None:
    lines = lines_of(SHARED / SWF, 40)
    first = next(i for i, x in enumerate(lines) if x.strip() and not x.startswith(";"))
    mutated = list(lines)
    job = lines[first].split()
    mutated[first] = " ".join(["15.5", *job[1:]]) + "\n"
    job = lines[first + 1].split()
    mutated[first + 1] = " ".join([*job[:2], "9" * 300, *job[3:]]) + "\n"
    job = lines[first + 2].split()
    mutated[first + 2] = " ".join([*job[:3], "nan", *job[4:]]) + "\n"
    got = read_checked(SOURCES["swf"], [write_lines(tmp_path / "kth.swf", mutated)])
    assert got.lines() == [
        (first + 1, "unparsable-value"),
        (first + 2, "out-of-range-timestamp"),
        (first + 3, "non-finite-number"),
    ]
    assert got.rejected[0].message == "job: '15.5' is not a whole number"
    jobs = [x.split()[0] for x in lines[first + 3 :] if x.strip()]
    assert [r["job_id"] for r in got.rows["jobs"]] == jobs


# ---------------------------------------------------------------- JSON lines and archives


def test_mooncake_lengths_are_exact_whole_numbers(tmp_path: Path) -> None:
    import json

    rel = "llm_serving/mooncake_fast25/conversation_trace.jsonl"
    lines = lines_of(SHARED / rel, 8)
    records = [json.loads(x) for x in lines]
    mutated = list(lines)
    mutated[1] = lines[1].replace(
        f'"input_length": {records[1]["input_length"]}',
        f'"input_length": {records[1]["input_length"]}.5',
    )
    mutated[2] = lines[2].replace(
        f'"timestamp": {records[2]["timestamp"]}', f'"timestamp": {"9" * 30}'
    )
    mutated[3] = lines[3].replace(
        f'"output_length": {records[3]["output_length"]}', '"output_length": NaN'
    )
    mutated[4] = lines[4].replace(
        f'"input_length": {records[4]["input_length"]}',
        f'"input_length": {records[4]["input_length"]}.0',
    )
    assert mutated[1] != lines[1] and mutated[2] != lines[2] and mutated[4] != lines[4]
    got = read_checked(
        SOURCES["mooncake"], [write_lines(tmp_path / "conversation_trace.jsonl", mutated, bom=True)]
    )
    assert got.lines() == [
        (2, "unparsable-value"),
        (3, "unparsable-value"),
        (4, "non-finite-number"),
    ]
    kept = [(r["input_tokens"], r["output_tokens"]) for r in got.rows["requests"]]
    assert kept == [
        (r["input_length"], r["output_length"])
        for n, r in enumerate(records, 1)
        if n not in (2, 3, 4)
    ]


def test_archive_members_follow_the_same_rules(tmp_path: Path) -> None:
    src = SHARED / "llm_serving/alibaba_genai_gentd26/basemodel_update_latency_anon.tar.gz"
    with tarfile.open(src) as tar:
        member = next(m for m in tar if m.isfile() and m.name.endswith(".csv"))
        f = tar.extractfile(member)
        assert f is not None
        lines = f.read().decode().splitlines(keepends=True)[:12]
    header = csv_fields(lines[0])
    row = csv_fields(lines[3])
    row[header.index("value")] = "inf"
    mutated = [lines[0], lines[1], lines[0], lines[2], ",".join(row) + "\n", *lines[4:]]

    def archive(name: str, text: list[str], bom: bool) -> Path:
        data = ("\ufeff" if bom else "").encode() + "".join(text).encode()
        out = tmp_path / name / "basemodel_update_latency_anon.tar.gz"
        out.parent.mkdir(parents=True)
        with tarfile.open(out, "w:gz") as tar:
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        return out

    plain = read_checked(SOURCES["alibaba_genai_2026_metrics"], [archive("plain", lines, False)])
    got = read_checked(SOURCES["alibaba_genai_2026_metrics"], [archive("bad", mutated, True)])
    assert got.lines() == [(3, "repeated-header"), (5, "non-finite-number")]
    assert got.rows["series"] == [r for i, r in enumerate(plain.rows["series"]) if i != 2]


def test_rows_without_any_key_field_are_reported_when_kept(
    shared: Path, tmp_path: Path, ingest_one
) -> None:
    rel = CSV_SAMPLES[2][2]
    lines = lines_of(shared / rel, 10)
    f = write_lines(tmp_path / Path(rel).name, [*lines[:3], ",,,\n", *lines[3:]])
    result = ingest_one(SOURCES["vidur_trace_untimed"], [f])
    assert result.rows_rejected == 0
    empty = [q for q in result.quality if q.slug == "empty-key"]
    assert [(q.table, q.count) for q in empty] == [("requests", 1)]


def test_a_300_digit_minute_column_names_the_file_and_line(tmp_path: Path) -> None:
    rel = "serverless/azure_functions_2019_invitro_sample100/invocations.csv"
    lines = lines_of(SHARED / rel, 4)
    header = csv_fields(lines[0])
    header[4] = "9" * 300
    f = write_lines(tmp_path / "invocations.csv", [",".join(header) + "\n", *lines[1:]])
    with pytest.raises(DataError) as e:
        read_checked(SOURCES["azure_functions_2019"], [f])
    assert str(e.value) == (
        f"{f}, line 1: after HashOwner,HashApp,HashFunction,Trigger every column must be a "
        "minute number (1..1440); found '99999999999999999999...'."
    )


def test_the_lake_rules_catch_what_no_source_may_let_through(tmp_path: Path) -> None:
    """The last line of defence behind the sources: times outside the years 1..9999 and
    non-finite numbers break the schema rules, so the lake moves such rows out."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ingest.quality import profile
    from ingest.schema import TABLES
    from ingest.write import connect

    schema = TABLES["requests"].schema
    day = (datetime(2023, 11, 16, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
    # Microseconds past year 9999, as a faulty source could hand them over (Arrow and DuckDB
    # hold them): 253402300800000000 µs is 10000-01-01, 2^62 µs is in year 146,138.
    micros = [day, 253_402_300_800_000_000, 2**62, day, day]
    ts = pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    columns = {f.name: pa.nulls(5, f.type) for f in schema}
    columns["trace"] = pa.array(["t"] * 5)
    columns["status"] = pa.array(["unknown"] * 5)
    columns["ts"] = ts
    columns["duration_s"] = pa.array([1.5, 1.5, 1.5, float("nan"), None])
    staged = tmp_path / "requests"
    staged.mkdir()
    pq.write_table(pa.table(columns, schema=schema), staged / "part-0.parquet")
    con = connect()
    assert profile(con, "requests", staged, 1e-6).breaking_rows == 3
