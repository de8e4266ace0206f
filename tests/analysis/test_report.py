"""`traces report` end to end on the lake of real samples: layout, determinism, offline HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from analysis.db import LakeDB
from analysis.report import build_report, render


@pytest.fixture(scope="module")
def report_json(sample_lake: Path) -> dict:
    db = LakeDB(sample_lake)
    try:
        return json.loads(render(build_report(db), "json"))
    finally:
        db.close()


def test_json_layout_of_the_issue(report_json: dict) -> None:
    azure = report_json["traces"]["azure_llm_2023_conv"]
    burst = azure["burstiness"]
    assert isinstance(burst["iat_cv"], float)
    assert burst["idc"] and all(isinstance(v, float | None) for v in burst["idc"].values())
    assert {"aggregated_variance", "rescaled_range"} <= set(burst["hurst"])
    assert burst["best_fit"] in {"exponential", "gamma", "weibull", "lognormal"}
    # Splitwise (ISCA'24) conversation medians, through the report.
    assert azure["tokens"]["input_p50"] == 1020 and azure["tokens"]["output_p50"] == 129
    burst_fixture = report_json["traces"]["burstgpt_schema_fixture"]
    assert burst_fixture["failures"]["ratio_by_status"]["failed"] == pytest.approx(2 / 10)


def test_sections_that_do_not_apply_are_omitted(report_json: dict) -> None:
    traces = report_json["traces"]
    # Capacity inventories and operator profiles have nothing to characterize.
    assert "alibaba_spot_gpu_2026_nodes" not in traces
    assert "alibaba_spot_gpu_2026_nodes" in report_json["not_characterized"]
    # No tokens in job traces, no failures section where nothing failed.
    assert "tokens" not in traces["google_2011_jobs"]
    assert "failures" not in traces["azure_llm_2023_conv"]
    for name, sections in traces.items():
        for key in ("burstiness", "failures", "cold_starts", "tokens"):
            if key in sections:
                assert sections[key], f"{name}.{key} is present but empty"


def test_comparison_has_one_row_per_characterized_trace(report_json: dict) -> None:
    rows = {r["trace"]: r for r in report_json["comparison"]}
    assert set(rows) == set(report_json["traces"])
    assert rows["azure_llm_2023_conv"]["input_p50"] == 1020
    assert rows["azure_functions_2021"]["duration_p50_s"] == pytest.approx(0.25)


def test_output_is_deterministic(sample_lake: Path) -> None:
    db = LakeDB(sample_lake)
    try:
        one = build_report(db, ["azure_llm_2023_conv", "burstgpt_schema_fixture"])
        two = build_report(db, ["azure_llm_2023_conv", "burstgpt_schema_fixture"])
    finally:
        db.close()
    for fmt in ("html", "json", "md"):
        assert render(one, fmt) == render(two, fmt), fmt


def test_html_is_self_contained(sample_lake: Path) -> None:
    db = LakeDB(sample_lake)
    try:
        page = render(build_report(db, ["azure_llm_2023_conv"]), "html")
    finally:
        db.close()
    assert page.count("Plotly.newPlot") >= 1
    # One copy of plotly.js, inline; nothing is fetched from the network.
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=[\"']https?:", page)
    assert page.count("plotly.js v") <= 2  # the library's own banner, once


def test_cli_report_formats(cli, sample_lake: Path, tmp_path: Path) -> None:
    for fmt in ("md", "json"):
        out = tmp_path / f"r.{fmt}"
        code, stdout, err = cli(
            "report",
            "--lake",
            sample_lake,
            "--trace",
            "mooncake_conversation",
            "--format",
            fmt,
            "--out",
            out,
        )
        assert code == 0, err
        assert out.is_file() and "Wrote" in stdout
    assert "mooncake_conversation" in json.loads((tmp_path / "r.json").read_text())["traces"]
    code, _, err = cli("report", "--lake", sample_lake, "--trace", "nope", "--out", tmp_path / "x")
    assert code == 1 and "No trace named 'nope'" in err
    code, _, _ = cli("report", "--lake", sample_lake, "--format", "pdf")
    assert code == 2


def test_to_json_keeps_trace_metadata(report_json: dict) -> None:
    moon = report_json["traces"]["mooncake_conversation"]
    assert moon["time_origin"] == "relative" and moon["time_resolution_s"] == 0.001
    assert report_json["traces"]["burstgpt_schema_fixture"]["fixture_only"] is True
