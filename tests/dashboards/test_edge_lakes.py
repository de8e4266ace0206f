"""Every dashboard page, on every trace it offers, runs on a lake of degenerate traces.

The lake (tests/edge_lake.py) holds a one-invocation serverless trace beside the full sample,
a one-request LLM trace, 50 arrivals in one second, a constant rate and a trace without token
counts. A page may say there is nothing to show; it may not fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests import edge_lake
from tests.dashboards.test_app import APP, ok

TIMEOUT = 120
PICKERS = {
    "arrivals": "arrivals-trace",
    "tokens": "tokens-trace",
    "failures": "failures-trace",
    "coldstarts": "coldstarts-trace",
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return edge_lake.build(tmp_path_factory.mktemp("edge-dashboard"))


@pytest.fixture
def env(lake: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("TRACES_LAKE", str(lake))
    monkeypatch.setenv("TRACES_MODELS", str(tmp_path / "no-models"))
    return lake


def _page(page: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    if page != "overview":
        at.switch_page(f"views/{page}.py").run()
    return ok(at)


@pytest.mark.parametrize("page", list(PICKERS))
def test_every_offered_trace_shows(env: Path, page: str) -> None:
    at = _page(page)
    picker = at.selectbox(key=PICKERS[page])
    offered = list(picker.options)
    assert offered
    for trace in offered:
        at.selectbox(key=PICKERS[page]).select(trace).run()
        ok(at)
    if page == "failures":
        assert offered == ["burstgpt_zerospan"]  # the one trace with a failed request
        assert "unsuccessful" in {m.label for m in at.metric}
    if page == "coldstarts":  # the one-invocation trace is modelled, like the full sample
        assert {"azure_functions_2021", "azure_functions_2021_full"} <= set(offered)
        at.selectbox(key=PICKERS[page]).select("azure_functions_2021").run()
        ok(at)
        assert any("no ratio of wasted warm time" in m.value for m in at.markdown)


def test_overview_and_compare(env: Path) -> None:
    at = _page("overview")
    traces = next(df.value for df in at.dataframe if "time resolution" in df.value.columns)
    assert set(traces["trace"]) == {
        "azure_functions_2021",
        "azure_functions_2021_full",
        "burstgpt_one",
        "burstgpt_zerospan",
        "burstgpt_constant",
        "burstgpt_periodic",
    }
    at = _page("compare")
    picked = at.multiselect(key="compare-traces")
    for pair in (["burstgpt_one", "burstgpt_zerospan"], ["burstgpt_constant", "burstgpt_periodic"]):
        picked.set_value(pair).run()
        ok(at)
        picked = at.multiselect(key="compare-traces")
