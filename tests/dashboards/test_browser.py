"""The dashboard in a real browser: every page renders its figures in headless Chromium.

Starts `streamlit run` on 127.0.0.1 (as `traces dashboard` does) over the sample lake, loads
each page in Chromium driven over the DevTools protocol, waits until every plotly chart on the
page is drawn, and keeps a screenshot per page. Set TRACES_SCREENSHOTS=DIR to keep them there
for a look; otherwise they go to the test's temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dashboards.launch import start_dashboard
from tests.dashboards.cdp import CHROMIUM, Browser, free_port, wait_http

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)"),
]
# URL (path and the trace pickers' query parameters) -> the page's title. The arrivals and
# failures pages are opened on traces with inter-arrival fits and with jobs that failed.
PAGES = {
    "": "Traces in the lake",
    "arrivals?arrivals-trace=azure_llm_2023_conv": "Arrivals and burstiness",
    "tokens": "Token lengths",
    "failures?failures-trace=google_2011_jobs": "Failures",
    "coldstarts": "Cold starts",
    "predictors": "Predictors",
    "compare": "Compare traces",
}


def page_name(url: str) -> str:
    return url.split("?")[0] or "overview"


@pytest.fixture(scope="module")
def server(sample_lake: Path, models: Path) -> Iterator[str]:
    port = free_port()
    proc = start_dashboard(sample_lake, port, models=models)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/_stcore/health", timeout=60)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("TRACES_SCREENSHOTS")
    if chosen:
        Path(chosen).mkdir(parents=True, exist_ok=True)
        return Path(chosen)
    return tmp_path_factory.mktemp("screenshots")


def non_trivial(png: Path) -> tuple[int, float]:
    """Distinct colours and the share of pixels that are not the background colour."""
    with Image.open(png) as im:
        pixels = np.asarray(im.convert("RGB").reduce(2)).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    return len(colours), 1.0 - counts.max() / counts.sum()


@pytest.mark.parametrize("path", list(PAGES), ids=[page_name(p) for p in PAGES])
def test_page_renders_its_figures(path: str, server: str, browser: Browser, shots: Path) -> None:
    browser.navigate(f"{server}/{path}")
    state = browser.wait_rendered(timeout=90)
    assert state["exceptions"] == 0, state["text"]
    assert state["title"] == PAGES[path]
    assert state["charts"] >= 1 and state["drawn"] == state["charts"]
    assert "Traceback" not in state["text"]
    if "?" in path:  # the query parameter picked the trace
        assert path.split("=")[-1] in state["text"]
    png = shots / f"{page_name(path)}.png"
    assert browser.screenshot(png) > 40_000
    colours, ink = non_trivial(png)
    assert colours > 200 and ink > 0.05, (colours, ink)
