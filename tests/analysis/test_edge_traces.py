"""Degenerate traces get what can be computed, and never break the report of the whole lake.

Regression for issue 11 class 4 ("a one-row trace makes `traces report` crash for the whole
lake"): one invocation of a serverless trace made the modelled cold-start finding format a
missing ratio. Beside it: a one-request LLM trace, 50 arrivals in one second, a constant rate,
and a trace without any token count (tests/edge_lake.py). Expected numbers come from the files.
"""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path

import pytest

from analysis.db import LakeDB
from analysis.report import FORMATS, Report, build_report, render, to_json
from tests import edge_lake

EDGE_TRACES = {
    "azure_functions_2021",
    "azure_functions_2021_full",
    "burstgpt_one",
    "burstgpt_zerospan",
    "burstgpt_constant",
    "burstgpt_periodic",
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("edges")
    edge_lake.build(folder)
    return folder


@pytest.fixture(scope="module")
def whole(folder: Path) -> Report:
    db = LakeDB(folder / "lake")
    try:
        return build_report(db)
    finally:
        db.close()


@pytest.fixture(scope="module")
def traces(whole: Report) -> dict:
    return to_json(whole)["traces"]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_format_renders_the_whole_lake(whole: Report) -> None:
    assert {tr.info.name for tr in whole.traces} >= EDGE_TRACES
    for fmt in FORMATS:
        text = render(whole, fmt)
        if fmt != "html":  # the HTML page holds plotly.js, whose code says NaN and Infinity
            assert not re.search(r"\b(nan|NaN|inf|Infinity)\b", text), fmt


def test_one_invocation_gets_its_modelled_cold_start(folder: Path, traces: dict) -> None:
    rows = _rows(folder / "AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv")
    assert len(rows) == 1
    cold = traces["azure_functions_2021"]["cold_starts"]
    assert cold["functions"] == 1 and cold["invocations"] == len(rows)
    # One invocation is one cold start under every window, and nothing stays warm after it.
    assert {w["window_min"] for w in cold["keepalive"]} == {1, 5, 10, 20, 30, 60, 120}
    assert all(w["cold_start_rate"] == 1.0 for w in cold["keepalive"])
    assert all(w["wasted_instance_s"] == 0.0 for w in cold["keepalive"])
    findings = traces["azure_functions_2021"]["findings"]
    assert any("no ratio of wasted warm time (the fixed window wastes none)" in f for f in findings)


def test_the_rest_of_the_lake_is_unaffected(folder: Path, whole: Report, traces: dict) -> None:
    """The full sample's section is the same with and without its degenerate neighbours."""
    db = LakeDB(folder / "lake")
    try:
        alone = to_json(build_report(db, ["azure_functions_2021_full"]))
    finally:
        db.close()
    assert alone["traces"]["azure_functions_2021_full"] == traces["azure_functions_2021_full"]
    row = next(r for r in to_json(whole)["comparison"] if r["trace"] == "azure_functions_2021_full")
    assert alone["comparison"] == [row]
    # And its numbers are the file's: every row one invocation.
    sample = _rows(edge_lake.FUNCTIONS_2021)
    assert traces["azure_functions_2021_full"]["cold_starts"]["invocations"] == len(sample)
    assert traces["azure_functions_2021_full"]["burstiness"]["events"] == len(sample)


def test_one_request_gets_its_token_lengths(traces: dict) -> None:
    header, row = edge_lake.BURSTGPT_HEADER.split(","), edge_lake.ONE_REQUEST.split(",")
    fields = dict(zip(header, row, strict=True))
    one = traces["burstgpt_one"]
    assert one["tokens"]["input_p50"] == int(fields["Request tokens"])
    assert one["tokens"]["output_p50"] == int(fields["Response tokens"])
    assert "burstiness" not in one  # one arrival: no rate, no gaps


def test_arrivals_in_one_second(folder: Path, traces: dict) -> None:
    rows = _rows(folder / "BurstGPT_zerospan.csv")
    burst = traces["burstgpt_zerospan"]["burstiness"]
    assert burst["events"] == len(rows) == 50
    assert burst["iat_cv"] is None  # every gap is 0: no mean to divide by
    assert burst.get("best_fit") is None  # no model fitted
    assert burst["hurst"] == {"aggregated_variance": None, "rescaled_range": None}


@pytest.mark.parametrize(("trace", "gap_s"), [("burstgpt_constant", 1), ("burstgpt_periodic", 3)])
def test_a_constant_rate_has_no_spread_to_fit_and_no_hurst(
    folder: Path, traces: dict, trace: str, gap_s: int
) -> None:
    """Arrivals at a constant rate: CV 0, no distribution fitted to a single gap value, and no
    Hurst exponent (both estimators returned 2.65 and -0.04 on one arrival every 3 s)."""
    rows = _rows(folder / f"BurstGPT_{trace.split('_')[1]}.csv")
    times = [float(r["Timestamp"]) for r in rows]
    assert {b - a for a, b in itertools.pairwise(times)} == {gap_s}
    burst = traces[trace]["burstiness"]
    assert burst["events"] == len(rows)
    assert burst["iat_cv"] == 0.0
    assert burst.get("best_fit") is None  # no model fitted
    assert burst["hurst"] == {"aggregated_variance": None, "rescaled_range": None}
    findings = " ".join(traces[trace]["findings"])
    assert "best fit" not in findings
    if gap_s > 1:  # a 1 s gap at a 1 s clock is refused earlier, for being under two ticks
        assert f"every gap is {gap_s} s: there is no spread to fit" in findings


def test_no_token_counts_no_token_section(folder: Path, traces: dict, whole: Report) -> None:
    rows = _rows(folder / "BurstGPT_periodic.csv")
    assert {r["Request tokens"] for r in rows} == {""} == {r["Response tokens"] for r in rows}
    assert "tokens" not in traces["burstgpt_periodic"]
    row = next(r for r in to_json(whole)["comparison"] if r["trace"] == "burstgpt_periodic")
    assert row["input_p50"] is None and row["output_p50"] is None
