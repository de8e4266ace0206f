"""The compare page's numbers, checked against the raw files with the csv module and plain loops.

The page computes its figures without the groups, fits and breakdowns of the full analyses
(dashboards/data.py: compare_burstiness, compare_failures, token_lengths); every number it
prints or plots must still be what the raw trace says.
"""

from __future__ import annotations

import csv
import itertools
import json
import statistics
from collections import Counter
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dashboards" / "app.py"
AZURE = ROOT.parent / "shared/traces/llm_serving/azure_llm_inference_2023"
AZURE_CSV = AZURE / "AzureLLMInferenceTrace_conv.csv"
BURSTGPT_CSV = ROOT / "tests" / "fixtures" / "burstgpt_schema_fixture.csv"
PAIR = ["azure_llm_2023_conv", "burstgpt_schema_fixture"]


@pytest.fixture(scope="module")
def page(sample_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> AppTest:
    mp = pytest.MonkeyPatch()
    mp.setenv("TRACES_LAKE", str(sample_lake))
    mp.setenv("TRACES_MODELS", str(tmp_path_factory.mktemp("no-models")))
    try:
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.run()
        at.switch_page("views/compare.py").run()
        at.multiselect(key="compare-traces").set_value(PAIR).run()
    finally:
        mp.undo()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def figures(at: AppTest) -> dict[str, dict]:
    out = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out[spec["layout"]["title"]["text"]] = spec
    return out


def headline(at: AppTest) -> dict[str, dict]:
    for df in at.dataframe:
        if "iat_cv" in df.value.columns:
            return {r["trace"]: r for r in df.value.to_dict("records")}
    raise AssertionError("no headline table")


def azure() -> tuple[list[int], list[int], list[int]]:
    """Arrival times in integer microseconds, input and output tokens, from the raw CSV."""
    times, inputs, outputs = [], [], []
    with AZURE_CSV.open(newline="") as f:
        for row in csv.DictReader(f):
            whole, frac = row["TIMESTAMP"].split(".")
            assert frac[6:] == "0"  # 7 digits, the last always 0: exact microseconds
            start = datetime.strptime(whole, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            times.append(int(start.timestamp()) * 1_000_000 + int(frac[:6]))
            inputs.append(int(row["ContextTokens"]))
            outputs.append(int(row["GeneratedTokens"]))
    return sorted(times), inputs, outputs


def idc(times_us: list[int], window_us: int) -> float:
    """Variance over mean (n - 1) of arrivals per window from the first arrival, over the
    complete windows of the span (first to last arrival plus one 1 µs tick), empty ones too."""
    t0 = times_us[0]
    windows = (times_us[-1] - t0 + 1) // window_us
    counts = Counter((t - t0) // window_us for t in times_us)
    kept = [c for w, c in counts.items() if w < windows]  # empty windows add nothing below
    total, squares = sum(kept), sum(c * c for c in kept)
    mean = Fraction(total, windows)
    variance = (squares - windows * mean * mean) / (windows - 1)
    return float(variance / mean)


def test_headline_numbers_are_the_raw_files(page: AppTest) -> None:
    rows = headline(page)
    assert list(rows) == PAIR
    times, inputs, outputs = azure()
    az = rows["azure_llm_2023_conv"]
    assert az["events"] == len(times) == 19_366
    span_s = (times[-1] - times[0] + 1) / 1e6
    assert az["rate_per_s"] == pytest.approx(len(times) / span_s, rel=1e-5)
    gaps = [(b - a) / 1e6 for a, b in itertools.pairwise(times)]
    assert az["iat_cv"] == pytest.approx(statistics.stdev(gaps) / statistics.mean(gaps), rel=1e-5)
    assert (az["input_p50"], az["output_p50"]) == (
        statistics.median(inputs),
        statistics.median(outputs),
    )

    with BURSTGPT_CSV.open(newline="") as f:
        raw = list(csv.DictReader(f))
    bg = rows["burstgpt_schema_fixture"]
    failed = [r for r in raw if r["Response tokens"] == "0"]  # BurstGPT: 0 tokens = failed
    assert bg["failure_ratio"] == pytest.approx(len(failed) / len(raw)) == 0.2
    finished = [int(r["Response tokens"]) for r in raw if r["Response tokens"] != "0"]
    assert bg["input_p50"] == statistics.median(int(r["Request tokens"]) for r in raw)
    assert bg["output_p50"] == statistics.median(finished)
    assert bg["duration_p50_s"] == statistics.median(float(r["Elapsed time"]) for r in raw)

    bars = {
        t["name"]: t
        for t in figures(page)["Final status shares (of rows with a known status)"]["data"]
    }
    for status in ("failed", "unsuccessful"):
        shares = dict(zip(bars[status]["x"], bars[status]["y"], strict=True))
        assert shares["burstgpt_schema_fixture"] == pytest.approx(len(failed) / len(raw))


def test_idc_and_cdf_points_are_the_raw_files(page: AppTest) -> None:
    figs = figures(page)
    times, inputs, outputs = azure()
    (curve,) = [t for t in figs["Index of dispersion of counts"]["data"] if t["name"] == PAIR[0]]
    plotted = dict(zip(curve["x"], curve["y"], strict=True))
    # 1 ms: counted in SQL as moments (too many windows to hand over); 1 s and 60 s from bins
    assert {0.001, 1.0, 60.0} <= set(plotted)
    for window_s in (0.001, 1.0, 60.0):
        assert plotted[window_s] == pytest.approx(idc(times, round(window_s * 1e6)), rel=1e-9)

    cdfs = {t["name"]: t for t in figs["Token length CDFs (solid: input, dashed: output)"]["data"]}
    for side, values in (("input", inputs), ("output", outputs)):
        trace = cdfs[f"{PAIR[0]} {side}"]
        assert 2 <= len(trace["x"]) <= 302
        assert trace["y"][-1] == 1.0
        for x, share in zip(trace["x"], trace["y"], strict=True):
            assert x in values  # every point is a length that occurs
            assert share == pytest.approx(sum(v <= x for v in values) / len(values), rel=1e-12)


def test_traces_offered_for_token_figures_are_those_with_lengths(sample_lake: Path) -> None:
    from analysis import tokens
    from analysis.db import LakeDB

    db = LakeDB(sample_lake)
    try:
        counts = tokens.requests_with_lengths(db)  # one scan of the lake, every trace
        with_any = {t: tokens.overview(db, t)["requests"] for t in db.traces()}
    finally:
        db.close()
    assert counts == {t: n for t, n in with_any.items() if n}
    with AZURE_CSV.open(newline="") as f:
        assert counts["azure_llm_2023_conv"] == sum(1 for _ in csv.DictReader(f))
    with BURSTGPT_CSV.open(newline="") as f:
        assert counts["burstgpt_schema_fixture"] == sum(1 for _ in csv.DictReader(f))
    assert "google_2011_jobs" not in counts  # jobs carry no tokens
