"""Data is never markup in the dashboard: hostile service names on every page that shows them.

The lake holds one BurstGPT trace whose `Model` values are Markdown images and links, HTML tags
and table pipes (tests/hostile_lake.py). Streamlit renders st.markdown, captions, subheaders,
expander and widget labels as Markdown, and plotly draws part of HTML in labels: every text
element's source is rendered here with a CommonMark renderer and must show the names as text,
with no image, link or script; every chart's labels must hold no tag from data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests import hostile_lake
from tests.dashboards.test_app import APP, ok
from tests.hostile_lake import ACTIVE_TAGS, NAMES, TRACE, render_markdown

TIMEOUT = 120


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hostile_lake.build(tmp_path_factory.mktemp("hostile-dashboard"))


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


def _markdown_sources(at: AppTest) -> list[str]:
    """Every text the page hands Streamlit's Markdown renderer."""
    texts = [e.value for e in (*at.markdown, *at.caption, *at.subheader, *at.title)]
    texts += [e.value for e in (*at.info, *at.warning, *at.success)]
    texts += [e.label for e in (*at.expander, *at.metric, *at.selectbox)]
    return [str(t) for t in texts]


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() if k != "template" for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _without_n(label: str) -> str:
    """A group label without the group size the figures add: 'name (n=60)' -> 'name'."""
    return re.sub(r" \(n=[\d,]+\)$", "", label)


def _assert_shown_as_text(at: AppTest) -> str:
    """No element renders markup from data; returns the rendered text of the page."""
    shown = [render_markdown(s) for s in _markdown_sources(at)]
    for source, r in zip(_markdown_sources(at), shown, strict=True):
        assert not ACTIVE_TAGS & set(r.tags), source
        assert not [v for v in r.attr_values if "javascript:" in v], source
    for chart in _charts(at):
        for text in _strings(chart):
            assert not re.search(r"<(?!/?(br|extra|b|i|sup|sub)>)", text), text
    return "\n".join(r.text for r in shown)


def test_failure_findings_show_the_service_name_as_text(env: Path) -> None:
    at = _page("failures")
    at.selectbox(key="failures-trace").select(TRACE).run()
    ok(at)
    text = _assert_shown_as_text(at)
    worst = next(iter(NAMES))  # fails on 40% of its requests, the others on 10%
    # The finding quotes the name (cut to 24 characters): the source escapes it, and what the
    # reader sees is the name itself, not an image.
    finding = next(m.value for m in at.markdown if "highest unsuccessful share" in m.value)
    assert "![" not in finding and "\\!\\[x\\]" in finding
    assert f"{worst[:21]}... has the highest unsuccessful share: 40.0%" in text
    # The breakdown chart by service: categories as text, decoded by plotly to the names.
    by_service = next(c for c in _charts(at) if "by service" in c["layout"]["title"]["text"])
    labels = {_without_n(v) for t in by_service["data"] for v in t.get("x") or []}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in labels


def test_arrivals_of_a_hostile_service(env: Path) -> None:
    at = _page("arrivals")
    at.selectbox(key="arrivals-trace").select(TRACE).run()
    ok(at)
    _assert_shown_as_text(at)
    scope = at.selectbox(key=f"arrivals-scope-{TRACE}")
    # Options read "service: NAME" (plain text: Streamlit does not render options as Markdown).
    index = next(i for i, o in enumerate(scope.options) if o.startswith("service: <img src="))
    scope.select_index(index).run()
    ok(at)
    text = _assert_shown_as_text(at)
    assert "Arrivals and burstiness of service <img src=http://127.0.0.1:9/y.png>" in text


def test_token_lengths_by_hostile_service(env: Path) -> None:
    at = _page("tokens")
    at.selectbox(key="tokens-trace").select(TRACE).run()
    ok(at)
    _assert_shown_as_text(at)
    names = {_without_n(t["name"]) for c in _charts(at) for t in c["data"] if t.get("name")}
    assert '&lt;a href="http://127.0.0.1:9/"&gt;click&lt;/a&gt; input' in names


@pytest.mark.parametrize("page", ["overview", "compare", "coldstarts"])
def test_other_pages_run_and_show_no_markup(env: Path, page: str) -> None:
    at = _page(page)
    _assert_shown_as_text(at)
