"""The "Generate a workload" page, run headless by Streamlit's AppTest over the sample lake.

The page must show the fidelity table exactly as the Python API computes it for the same
seed, a generated workload whose size matches the file `generate()` writes (counted here
with the csv module, and its rate derived from the raw source file), every figure with the
source and the generated workload on it, and a trace without arrivals as an error message.
"""

from __future__ import annotations

import csv
import math
import os
import re
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import SHARED
from tests.dashboards.cdp import CHROMIUM, Browser, free_port, wait_http
from tests.dashboards.test_app import charts, ok, open_page, table_with

TRACE = "azure_llm_2023_conv"
RAW = SHARED / "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
SEED = 3


@pytest.fixture
def lake_env(monkeypatch: pytest.MonkeyPatch, sample_lake: Path) -> Path:
    monkeypatch.setenv("TRACES_LAKE", str(sample_lake))
    return sample_lake


def _same(shown: object, computed: float | None) -> bool:
    if computed is None:
        return shown is None or (isinstance(shown, float) and math.isnan(shown))
    return isinstance(shown, int | float) and float(shown) == computed


def _raw_times() -> list[float]:
    """Arrival times of the raw Azure CSV in seconds, read with the csv module."""
    with RAW.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [datetime.fromisoformat(r["TIMESTAMP"][:26]).timestamp() for r in rows]


# Two full generations (the page's and the API's, about 7 s each with every arrival model
# compared) put this test over the suite's 20 s on the shared 2-core machine.
@pytest.mark.slow
def test_generated_workload_beside_its_source(lake_env: Path, tmp_path: Path) -> None:
    from generate.api import generate

    at = open_page("generate")
    at.selectbox(key="generate-trace").select(TRACE).run()
    ok(at)
    assert "azure-llm" in at.selectbox(key=f"generate-format-{TRACE}").options
    at.selectbox(key=f"generate-format-{TRACE}").select("azure-llm").run()
    at.number_input(key="generate-seed").set_value(SEED).run()
    at.button(key="generate-run").click().run()
    ok(at)

    # The same run through the API: the page's table must hold exactly its numbers.
    out = tmp_path / "workload.csv"
    result = generate(lake_env, TRACE, out, "azure-llm", seed=SEED)
    shown = table_with(at, "tolerance")
    assert list(shown["statistic"]) == [r.name for r in result.fidelity.rows]
    for row, stat in zip(shown.to_dict("records"), result.fidelity.rows, strict=True):
        for col in ("source", "generated", "distance", "tolerance"):
            assert _same(row[col], getattr(stat, col)), (stat.name, col, row[col])
        assert row["result"] == {True: "pass", False: "FAIL", None: "not checked"}[stat.passed]
    assert any("rate_" in m.value or "poisson" in m.value for m in at.markdown), "model named"
    assert any(result.arrivals.split(" ")[0] in str(m.value) for m in at.markdown)

    # The rate row, independently: rows of the generated file (csv module) over the span of
    # the raw source file (first to last arrival plus one µs tick, the source's clock).
    with out.open(newline="") as f:
        generated_rows = sum(1 for _ in csv.DictReader(f))
    times = _raw_times()
    span = max(times) - min(times) + 1e-6
    rate = {r["statistic"]: r for r in shown.to_dict("records")}["rate (/s)"]
    assert rate["source"] == pytest.approx(len(times) / span, rel=1e-6)
    assert rate["generated"] == pytest.approx(generated_rows / span, rel=1e-6)
    headline = next(m.value for m in at.markdown if " requests**" in m.value)
    assert re.search(rf"\*\*{generated_rows:,} requests\*\*", headline), headline

    # Every figure puts the source and the generated workload side by side.
    figures = charts(at)
    titles = [f["layout"]["title"]["text"] for f in figures]
    assert any(t.startswith("Arrival rate") for t in titles)
    assert "Inter-arrival time CDF" in titles
    assert "Index of dispersion of counts" in titles
    assert "CDF of input tokens per request" in titles
    assert "CDF of output tokens per request" in titles
    for fig in figures:
        names = [d.get("name", "") for d in fig["data"]]
        assert "source" in names, (fig["layout"]["title"]["text"], names)
        assert any(n.startswith("generated") for n in names), names
        for trace in fig["data"]:
            assert 2 <= len(trace["x"]) <= 300  # thinned, not one point per request
    assert at.get("download_button"), "the generated file can be downloaded"


def test_rate_scale_is_named_in_the_legend(lake_env: Path) -> None:
    at = open_page("generate")
    at.selectbox(key="generate-trace").select(TRACE).run()
    at.select_slider(key="generate-scale").set_value(2.0).run()
    at.button(key="generate-run").click().run()
    ok(at)
    rate = next(f for f in charts(at) if f["layout"]["title"]["text"].startswith("Arrival rate"))
    names = [d["name"] for d in rate["data"]]
    assert names == ["source", "generated (rate ÷ 2)"]
    # Scaled back, the generated rate averages about the source's (the table checks 10%).
    src, gen = (sum(d["y"]) / len(d["y"]) for d in rate["data"])
    assert gen == pytest.approx(src, rel=0.15)
    at.toggle(key="generate-rescaled").set_value(False).run()
    rate = next(f for f in charts(at) if f["layout"]["title"]["text"].startswith("Arrival rate"))
    src, gen = (sum(d["y"]) / len(d["y"]) for d in rate["data"])
    assert rate["data"][1]["name"] == "generated (at 2x the rate)"
    assert gen == pytest.approx(2 * src, rel=0.15)


def test_a_trace_without_arrivals_is_an_error_message(lake_env: Path) -> None:
    at = open_page("generate")
    # Vidur's arXiv lengths: token counts without arrival times.
    at.selectbox(key="generate-trace").select("vidur_arxiv_summarization").run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1
    assert "vidur" in errors[0] and "No format fits it" in errors[0]
    assert not at.get("plotly_chart")
    assert len(at.button) == 0


def test_without_a_lake_the_page_says_how_to_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACES_LAKE", str(tmp_path / "missing"))
    at = open_page("generate")
    assert "traces ingest" in at.code[0].value


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests import hostile_lake

    return hostile_lake.build(tmp_path_factory.mktemp("hostile-generate"))


def test_an_error_of_the_api_is_a_message_and_names_stay_text(
    hostile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hostile trace's requests are five sessions: too few session starts to fit arrivals
    on, which the API refuses with a DataError that the page shows as an error message."""
    from tests.dashboards.test_hostile_names import _assert_shown_as_text
    from tests.hostile_lake import TRACE as HOSTILE

    monkeypatch.setenv("TRACES_LAKE", str(hostile))
    at = open_page("generate")
    at.selectbox(key="generate-trace").select(HOSTILE).run()
    at.selectbox(key=f"generate-format-{HOSTILE}").select("burstgpt").run()
    at.button(key="generate-run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "Only 5 arrivals" in errors[0], errors
    assert "Traceback" not in errors[0]
    _assert_shown_as_text(at)
    assert not at.get("plotly_chart")


GENERATE_BUTTON_JS = (
    "Array.from(document.querySelectorAll('button')).find((e) => e.innerText.trim() === 'Generate')"
)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_generate_in_a_real_browser(sample_lake: Path, tmp_path: Path) -> None:
    """Headless Chromium: open the page on the Azure trace, press Generate, and every figure
    of the generated workload is drawn."""
    from dashboards.launch import start_dashboard

    port = free_port()
    proc = start_dashboard(sample_lake, port, quiet=True)
    browser = None
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/_stcore/health", timeout=60)
        browser = Browser(tmp_path / "chromium-profile")
        browser.navigate(f"{url}/generate?generate-trace={TRACE}")
        browser.wait_rendered(timeout=90, charts=False, title="Generate a workload")
        assert browser.wait_for(f"Boolean({GENERATE_BUTTON_JS})", timeout=30)
        browser.evaluate(f"{GENERATE_BUTTON_JS}.click()")
        state = browser.wait_rendered(timeout=120, title="Generate a workload")
        assert state["exceptions"] == 0, state["text"]
        assert state["charts"] == 5 and state["drawn"] == 5, state
        assert "Fidelity to the source" in state["text"]
        assert "Traceback" not in state["text"]
        shots = Path(os.environ.get("TRACES_SCREENSHOTS") or tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        assert browser.screenshot(shots / "generate.png") > 40_000
    finally:
        if browser is not None:
            browser.close()
        proc.terminate()
        proc.wait(timeout=20)


def test_failed_rows_are_red_and_numbers_unrounded() -> None:
    from dashboards.generate_data import fidelity_frame, fidelity_styled
    from generate.fidelity import fidelity_table, statistic

    rows = [
        statistic("rate (/s)", 5.0, 5.1, 0.0198, 0.10, "ok"),
        statistic("inter-arrival CV", 1.0, 2.0, 0.6931, 0.25, "too far"),
        statistic("requests", 100, 102, 0.0198, None, "shown only"),
    ]
    table = fidelity_table("src", "gen.csv", rows)
    frame = fidelity_frame(table)
    assert list(frame["result"]) == ["pass", "FAIL", "not checked"]
    assert frame["distance"][1] == 0.6931 and frame["generated"][0] == 5.1
    html = fidelity_styled(table).to_html()
    styled_rows = {
        int(m) for m in re.findall(r"_row(\d+)_col\d+[^{]*\{\s*background-color: #fde2e1", html)
    }
    assert styled_rows == {1}
