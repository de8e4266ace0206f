"""Failures: hand-computed tiny lakes, the pure helpers, and the real samples."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from analysis import failures
from analysis.db import LakeDB, dumps
from ingest.pipeline import ingest_paths
from tests.analysis.conftest import section_of
from tests.conftest import SHARED

ACME_HEADER = (
    "job_id,user,node_num,gpu_num,cpu_num,type,state,submit_time,start_time,end_time,gpu_time"
)
# job, user, gpus, cpus, type, state, submit (= start), end; times on 2023-01-0D HH:MM:SS UTC
ACME_JOBS = [
    ("j1", "u1", 8, 64, "A", "COMPLETED", "01 10:00:00", "01 12:00:00"),  # run 7200 s
    ("j2", "u1", 2, 16, "A", "FAILED", "01 10:30:00", "01 11:00:00"),  # 1800 s
    ("j3", "u2", 1, 8, "B", "CANCELLED", "01 11:00:00", "01 11:06:00"),  # 360 s
    ("j4", "u2", 4, 32, "B", "TIMEOUT", "01 23:00:00", "02 01:00:00"),  # 7200 s
    ("j5", "u3", 0, 4, "B", "COMPLETED", "01 23:30:00", "01 23:31:00"),  # 60 s
    ("j6", "u3", 1, 8, "A", "NODE_FAIL", "02 00:00:00", "02 00:00:30"),  # 30 s
    ("j7", "u4", 16, 128, "B", "RUNNING", "02 00:10:00", None),  # no end: unknown
    ("j8", "u4", 8, 64, "A", "PREEMPTED", "02 00:20:00", "02 01:20:00"),  # 3600 s
]


def _ts(day_time: str | None) -> str:
    return "" if day_time is None else f"2023-01-{day_time}+00:00"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> LakeDB:
    src = tmp_path_factory.mktemp("failures_src")
    acme = src / "trace_tiny.csv"
    lines = [ACME_HEADER]
    for job, user, gpus, cpus, typ, state, start, end in ACME_JOBS:
        node = max(1, gpus // 8)
        lines.append(
            f"{job},{user},{node},{gpus},{cpus},{typ},{state},{_ts(start)},{_ts(start)},{_ts(end)},0"
        )
    acme.write_text("\n".join(lines) + "\n")
    burst = src / "BurstGPT_tiny.csv"
    burst.write_text(
        "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
        "0,ChatGPT,10,5,15,Conversation log\n"
        "1,ChatGPT,100,0,100,Conversation log\n"
        "2,GPT-4,3,7,10,API log\n"
        "3,GPT-4,300,0,300,API log\n"
        "4,GPT-4,1000,50,1050,API log\n"
    )
    lake = src / "lake"
    report = ingest_paths([acme, burst], lake)
    assert not report.failures, report.failures
    return LakeDB(lake)


# ---------------------------------------------------------------- pure helpers


def test_size_labels() -> None:
    assert [failures.size_label(b, 2.0) for b in range(5)] == [
        "0",
        "(0, 1]",
        "(1, 2]",
        "(2, 4]",
        "(4, 8]",
    ]
    assert failures.size_label(6, 4.0) == "(256, 1024]"


def test_status_ratios_leave_unknown_out() -> None:
    r = failures.status_ratios({"ok": 6, "failed": 2, "killed": 1, "unknown": 1})
    assert r == pytest.approx(
        {"ok": 6 / 9, "failed": 2 / 9, "killed": 1 / 9, "unsuccessful": 3 / 9}
    )
    assert failures.status_ratios({}) == {}
    assert failures.status_ratios({"unknown": 5}) == {}


def test_status_counts_are_typed() -> None:
    c = failures.StatusCounts({"ok": 6, "failed": 2, "evicted": 1, "unknown": 3})
    assert (c.rows, c.known_rows, c.unknown_rows, c.unsuccessful_rows) == (12, 9, 3, 3)
    assert c.failure_ratio == pytest.approx(3 / 9)
    assert c.share("failed") == pytest.approx(2 / 9) and c.share("timeout") == 0.0
    assert c.statuses == ("ok", "failed", "evicted", "unknown")
    with pytest.raises(ValueError, match="left out"):
        c.share("unknown")
    only_unknown = failures.StatusCounts({"unknown": 4})
    assert only_unknown.failure_ratio is None and only_unknown.share("ok") is None


def test_ratio_table_pivots_long_counts() -> None:
    long = pl.DataFrame({"grp": ["a", "a", "b"], "status": ["ok", "failed", "ok"], "n": [3, 1, 2]})
    t = failures.ratio_table(long)
    assert t.columns == ["grp", "n", "unknown_rows", "unsuccessful", "ok", "failed"]
    assert t.row(0) == ("a", 4, 0, 0.25, 0.75, 0.25)
    assert t.row(1) == ("b", 2, 0, 0.0, 1.0, 0.0)
    # a group whose rows all have an unknown status has no shares, only its count
    long = pl.DataFrame({"grp": ["a", "b"], "status": ["failed", "unknown"], "n": [1, 3]})
    assert failures.ratio_table(long).row(1) == ("b", 3, 3, None, None)


def test_pooled_published_weights_kinds_by_jobs() -> None:
    df = pl.DataFrame(
        {
            "cluster": ["X"] * 4,
            "kind": ["cpu", "cpu", "gpu", "gpu"],
            "metric": ["jobs_share"] * 4,
            "status": ["ok", "failed", "ok", "failed"],
            "value": [0.9, 0.1, 0.5, 0.5],
            "jobs": [300.0, 300.0, 100.0, 100.0],
        }
    )
    pooled = failures.pooled_published(df)
    assert pooled["X"]["ok"] == pytest.approx((0.9 * 300 + 0.5 * 100) / 400)
    assert pooled["X"]["failed"] == pytest.approx((0.1 * 300 + 0.5 * 100) / 400)


# ---------------------------------------------------------------- tiny lakes, by hand


def test_tiny_jobs_ratios_and_resources(tiny: LakeDB) -> None:
    sec = section_of("failures", tiny, "acme_tiny")
    assert sec is not None and sec.key == "failures"
    num = sec.numbers
    # j7 is still running (unknown): counted, and left out of every share
    assert (num["rows"], num["known_rows"], num["unknown_rows"]) == (8, 7, 1)
    assert num["ratio_by_status"] == pytest.approx(
        {
            "ok": 2 / 7,
            "failed": 2 / 7,
            "cancelled": 1 / 7,
            "timeout": 1 / 7,
            "evicted": 1 / 7,
            "unsuccessful": 5 / 7,
        }
    )
    assert num["failure_ratio"] == pytest.approx(5 / 7)
    assert num["unsuccessful_statuses"] == ["failed", "cancelled", "timeout", "killed", "evicted"]
    assert any("1 of 8 jobs" in n and "unknown" in n for n in sec.notes)
    assert any("failed, cancelled, timeout, killed or evicted" in n for n in sec.notes)
    lost = num["resources_lost"]
    gpu = lost["gpu_hours"]
    assert gpu["failed"] == pytest.approx(2 * 0.5 + 1 * 30 / 3600)
    assert gpu["cancelled"] == pytest.approx(0.1)
    assert gpu["timeout"] == pytest.approx(8.0)
    assert gpu["evicted"] == pytest.approx(8.0)
    assert gpu["unsuccessful"] == pytest.approx(17.1 + 1 / 120)
    assert lost["gpu_hours_total"] == pytest.approx(16 + 17.1 + 1 / 120)
    assert lost["gpu_hours_share_lost"] == pytest.approx((17.1 + 1 / 120) / (33.1 + 1 / 120))
    assert lost["cpu_hours"]["timeout"] == pytest.approx(64.0)
    assert "run_hours" not in lost


def test_tiny_jobs_breakdowns(tiny: LakeDB) -> None:
    num = section_of("failures", tiny, "acme_tiny").numbers  # type: ignore[union-attr]
    by_type = num["by_group"]["job_type"]
    assert by_type["A"]["n"] == 4 and by_type["A"]["unsuccessful"] == pytest.approx(0.75)
    # B: cancelled, timeout, ok and the running j7: 2 of the 3 with a known status
    assert by_type["B"]["n"] == 4 and by_type["B"]["unknown_rows"] == 1
    assert by_type["B"]["unsuccessful"] == pytest.approx(2 / 3)
    assert set(num["by_group"]["tenant"]) == {"u1", "u2", "u3", "u4"}
    gpus = {r["bucket"]: r for r in num["by_size"]["num_gpus"]}
    assert list(gpus) == ["0", "(0, 1]", "(1, 2]", "(2, 4]", "(4, 8]", "(8, 16]"]
    assert gpus["(0, 1]"]["n"] == 2 and gpus["(0, 1]"]["unsuccessful"] == 1.0
    assert gpus["(4, 8]"]["unsuccessful"] == pytest.approx(0.5)
    assert gpus["(8, 16]"]["unknown_rows"] == 1 and gpus["(8, 16]"]["unsuccessful"] is None
    hours = {h["hour"]: h for h in num["by_hour"]}
    assert sorted(hours) == [0, 10, 11, 23]
    assert hours[0]["n"] == 3 and hours[0]["unknown_rows"] == 1
    assert hours[0]["unsuccessful"] == 1.0  # j6 failed, j8 evicted; j7 still running
    assert hours[23]["unsuccessful"] == pytest.approx(0.5)


def test_tiny_jobs_time_to_failure_and_over_time(tiny: LakeDB) -> None:
    num = section_of("failures", tiny, "acme_tiny").numbers  # type: ignore[union-attr]
    ttf = num["time_to_failure"]
    # unsuccessful run times: 30, 360, 1800, 3600, 7200
    assert ttf["n"] == 5
    assert ttf["p50_s"] == pytest.approx(1800.0)
    assert ttf["mean_s"] == pytest.approx((30 + 360 + 1800 + 3600 + 7200) / 5)
    assert ttf["by_status"]["ok"]["p50_s"] == pytest.approx((60 + 7200) / 2)
    # submissions span 10:00 .. 00:20 next day (51,600 s): 5-minute bins are the finest <= 500
    fot = num["failures_over_time"]
    assert fot["bin_s"] == 300.0
    assert len(fot["n"]) == 51600 // 300 + 1
    assert sum(fot["n"]) == 8 and sum(fot["unsuccessful"]) == 5
    assert fot["start"].startswith("2023-01-01T10:00:00")


def test_tiny_requests_zero_token_failures(tiny: LakeDB) -> None:
    sec = section_of("failures", tiny, "burstgpt_tiny")
    assert sec is not None
    num = sec.numbers
    assert num["table"] == "requests"
    assert num["ratio_by_status"] == pytest.approx({"ok": 0.6, "failed": 0.4, "unsuccessful": 0.4})
    assert num["by_group"]["service"]["ChatGPT"]["unsuccessful"] == pytest.approx(0.5)
    assert num["by_group"]["service"]["GPT-4"]["unsuccessful"] == pytest.approx(1 / 3)
    sizes = {r["bucket"]: r["unsuccessful"] for r in num["by_size"]["input_tokens"]}
    assert sizes == {"(1, 4]": 0.0, "(4, 16]": 0.0, "(64, 256]": 1.0, "(256, 1024]": 0.5}
    assert num["resources_lost"]["input_tokens"]["failed"] == 400
    assert num["resources_lost"]["input_tokens_total"] == 1413
    assert "by_hour" not in num  # relative timestamps: no time of day
    assert any("relative" in n for n in sec.notes)


# ---------------------------------------------------------------- real samples


def test_acme_cluster_summary_published_ratios(db: LakeDB) -> None:
    """Against values read by hand from acme_trace/cluster_summary.csv."""
    assert (SHARED / "datacenter" / "acme_trace" / "cluster_summary.csv").is_file()
    sec = section_of("failures", db, "acme_cluster_summary")
    assert sec is not None
    num = sec.numbers
    by_kind = num["published_ratio_by_cluster_kind"]
    assert by_kind["Seren"]["gpu"] == {"ok": 0.497, "cancelled": 0.075, "failed": 0.429}
    assert by_kind["Seren"]["cpu"] == {"ok": 0.858, "cancelled": 0.039, "failed": 0.102}
    assert by_kind["Kalos"]["gpu"] == {"ok": 0.541, "cancelled": 0.062, "failed": 0.397}
    assert by_kind["Kalos"]["cpu"] == {"ok": 0.86, "cancelled": 0.001, "failed": 0.14}
    assert by_kind["Philly"] == {"gpu": {"ok": 0.604, "cancelled": 0.09, "failed": 0.305}}
    assert by_kind["Helios"]["gpu"] == {"ok": 0.624, "cancelled": 0.221, "failed": 0.155}
    assert "PAI" not in by_kind  # PAI publishes no final states
    # pooled over kinds by job counts: Kalos 19,907 GPU and 42,506 CPU jobs
    kalos = num["published_ratio_by_cluster"]["Kalos"]
    assert kalos["failed"] == pytest.approx((0.397 * 19907 + 0.14 * 42506) / 62413)
    assert num["published_ratio_by_cluster"]["Philly"]["failed"] == pytest.approx(0.305)
    gpu_time = num["published_gpu_time_ratio_by_cluster"]
    assert gpu_time["Seren"] == {"ok": 0.212, "cancelled": 0.664, "failed": 0.124}
    assert num["published_gpu_hours_by_cluster"]["Kalos"]["failed"] == pytest.approx(
        426292851.0 / 3600
    )
    lost = num["resources_lost"]  # published GPU-seconds of the four clusters, in hours
    failed_s = 2675447459.0 + 426292851.0 + 2659215061.0 + 7288334702.0
    cancelled_s = 14274584510.0 + 3239202064.0 + 2025326056.0 + 30715109125.0
    ok_s = 4560592618.0 + 1667685146.0 + 2210176414.0 + 39994296320.0
    assert lost["gpu_hours"]["failed"] == pytest.approx(failed_s / 3600)
    assert lost["gpu_hours"]["unsuccessful"] == pytest.approx((failed_s + cancelled_s) / 3600)
    assert lost["gpu_hours_share_lost"] == pytest.approx(
        (failed_s + cancelled_s) / (failed_s + cancelled_s + ok_s)
    )
    assert set(num["ratio_by_status"]) == {"ok", "cancelled", "failed", "unsuccessful"}
    assert sum(v for k, v in num["ratio_by_status"].items() if k != "unsuccessful") == (
        pytest.approx(1.0, abs=0.003)  # shares are published rounded to 0.001
    )
    assert any("42.9%" in f and "Seren" in f for f in sec.findings)


@pytest.mark.parametrize(
    ("trace", "counts"),
    [
        ("google_2011_jobs", {"ok": 3715, "failed": 94, "killed": 2015, "unknown": 3984}),
        ("swf_kth_sp2_1996_2_1_cln", {"ok": 20483, "failed": 7509}),
        ("alibaba_genai_2026", {"ok": 26392, "failed": 398, "unknown": 33}),
        ("burstgpt_schema_fixture", {"ok": 8, "failed": 2}),
    ],
)
def test_real_samples_ratio_by_status(db: LakeDB, trace: str, counts: dict[str, int]) -> None:
    sec = section_of("failures", db, trace)
    assert sec is not None
    n = sum(counts.values())
    known = n - counts.get("unknown", 0)
    assert sec.numbers["rows"] == n and sec.numbers["unknown_rows"] == counts.get("unknown", 0)
    for status, k in counts.items():
        if status != "unknown":
            assert sec.numbers["ratio_by_status"][status] == pytest.approx(k / known)
    assert "unknown" not in sec.numbers["ratio_by_status"]


@pytest.mark.parametrize(
    "trace",
    ["azure_llm_2023_conv", "azure_functions_2021", "alibaba_dlrm_2025", "mooncake_conversation"],
)
def test_no_section_without_failures(db: LakeDB, trace: str) -> None:
    # all ok, all unknown, or no jobs/requests with a status: nothing to say
    assert section_of("failures", db, trace) is None


def test_every_section_is_reportable(db: LakeDB) -> None:
    built = 0
    for trace in db.traces():
        sec = section_of("failures", db, trace)
        if sec is None:
            continue
        built += 1
        data = json.loads(dumps(sec.numbers))
        assert "ratio_by_status" in data
        assert 1 <= len(sec.findings) <= 4
        assert 1 <= len(sec.figures) <= 4
        for fig in sec.figures:
            assert fig.layout.template.layout.paper_bgcolor is not None  # plotly_white applied
            assert fig.layout.title.text
            points = sum(len(t.x) if t.x is not None else 0 for t in fig.data)
            assert points <= 5000
        ratios = data["ratio_by_status"]
        assert all(0 <= v <= 1 for v in ratios.values() if v is not None)
        assert not any(isinstance(v, float) and math.isnan(v) for v in ratios.values())
    assert built >= 8


def test_deterministic(db: LakeDB) -> None:
    a = section_of("failures", db, "google_2011_tasks")
    b = section_of("failures", db, "google_2011_tasks")
    assert a is not None and b is not None
    assert dumps(a.numbers) == dumps(b.numbers)
    assert a.findings == b.findings


def test_one_query_serves_both_tables() -> None:
    """jobs and requests share each query through the arrivals view: no per-table twins."""
    queries = Path(failures.__file__).parent / "queries"
    for what in ("by", "duration_values", "over_time"):
        assert (queries / f"failures_{what}.sql").is_file()
        for table in ("jobs", "requests"):
            assert not (queries / f"failures_{table}_{what}.sql").exists()


def test_known_outcomes_and_no_failure_is_a_ratio_of_zero(tmp_path: Path) -> None:
    # 300 completed jobs (SWF status 1) of the real KTH log, with its header: every outcome is
    # known and none is unsuccessful, which the report must say as 0, not leave blank.
    import gzip

    raw = SHARED / "datacenter/pwa_swf_kth_sp2/KTH-SP2-1996-2.1-cln.swf.gz"
    header, completed = [], []
    with gzip.open(raw, "rt") as f:
        for line in f:
            if line.startswith(";"):
                header.append(line)
            elif line.strip() and line.split()[10] == "1" and len(completed) < 300:
                completed.append(line)
    swf = tmp_path / "kth_completed.swf"
    swf.write_text("".join(header + completed))
    report = ingest_paths([swf], tmp_path / "lake")
    assert not report.failures, report.failures
    db = LakeDB(tmp_path / "lake")
    (trace,) = db.traces()
    result = failures.compute(db, trace)
    assert result is not None and result.recorded is not None
    assert result.failure_ratio == 0.0
    assert result.recorded.counts.known_rows == len(completed) == 300
    sec = section_of("failures", db, trace)
    assert sec is not None and sec.numbers["failure_ratio"] == 0.0
