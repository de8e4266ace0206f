"""The HTML report in a real browser (headless Chromium, no network): every figure is drawn at
the width of its cell, with its legend and titles in view, at 1,400 and 900 px windows and after
the window is resized from one to the other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analysis.report import write_report
from tests.dashboards.cdp import CHROMIUM, Browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not installed (apt-get install chromium; .ci/run installs it)",
    ),
]

# A trace for every analysis that draws figures (burstiness, failures, cold starts, tokens,
# utilization, variability, clients, stragglers, profiles, inventory), among them the figures
# the issue found cut off: token-length CDFs, the modelled cold-start trade-off, arrival rates,
# grouped bars; vidur_profiling's operator shares have the longest legend.
TRACES = [
    "acme_kalos",
    "alibaba_2018_machine_usage",
    "alibaba_gpu_2023_nodes_all_node",
    "alibaba_pai_minibatch_2020",
    "azure_functions_2019",
    "azure_llm_2023_conv",
    "azure_vm_noise_2024",
    "burstgpt_schema_fixture",
    "huawei_2025_cold_starts",
    "servegen_multimodal_mm_image",
    "vidur_profiling",
]
TOLERANCE = 1.0  # px: sub-pixel rounding of boxes

# Sizes of the drawn figures and the page once every one of `n` is drawn (null before), for
# waiting until the page has stopped changing; the first figure the page could not draw, if any.
DRAWN_JS = """
((n) => {
  const svgs = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .map((gd) => gd.querySelector('.main-svg')).filter((s) => s);
  const failed = document.querySelector('[data-figure-error]');
  if (failed) return 'error: ' + failed.id + ': ' + failed.getAttribute('data-figure-error');
  if (document.readyState !== 'complete' || svgs.length < n) return null;
  const size = (s) => {
    const b = s.getBoundingClientRect();
    return Math.round(b.width) + 'x' + Math.round(b.height);
  };
  return svgs.map(size).join(',') + ' page ' + document.documentElement.scrollHeight;
})(%d)
"""

# What the reader sees of each figure: the boxes of its cell in the grid, of the SVG plotly drew,
# of its legend, of every title and tick label; the legend is expected where the figure asks
# for one or has more than one trace that would be listed in it.
FIGURES_JS = """
(() => {
  const box = (e) => {
    const b = e.getBoundingClientRect();
    return {l: b.left, t: b.top, r: b.right, b: b.bottom};
  };
  const figures = Array.from(document.querySelectorAll('.js-plotly-plot')).map((gd) => {
    let cell = gd;
    while (cell.parentElement && !cell.parentElement.classList.contains('figs')) {
      cell = cell.parentElement;
    }
    const layout = gd.layout || {};
    const listed = (gd.data || []).filter((t) => t.showlegend !== false).length;
    const titles = Array.from(gd.querySelectorAll('text'))
      .filter((t) => /^(gtitle|[xy][0-9]*title|legendtitletext)$/.test(t.getAttribute('class'))
        && t.textContent.trim())
      .map((t) => ({kind: t.getAttribute('class'), text: t.textContent, box: box(t)}));
    const ticks = Array.from(gd.querySelectorAll('.xtick text, .ytick text'))
      .filter((t) => t.textContent.trim())
      .map((t) => ({kind: 'tick', text: t.textContent, box: box(t)}))
      .filter((t) => t.box.r > t.box.l);
    const legend = gd.querySelector('.legend .bg');
    const size = (gd._fullLayout || {})._size || {};
    return {
      id: gd.id,
      title: ((layout.title || {}).text || '').replace(/<br>/g, ' '),
      grid: box(cell.parentElement),
      cell: box(cell),
      svg: box(gd.querySelector('.main-svg')),
      legend_expected: layout.showlegend === true || (layout.showlegend !== false && listed > 1),
      legend: legend ? box(legend) : null,
      legend_items: gd.querySelectorAll('.legend .traces').length,
      plot_height: size.h || 0,
      titles: titles,
      ticks: ticks,
    };
  });
  return {
    width: window.innerWidth,
    scroll_width: document.documentElement.scrollWidth,
    figures: figures,
    fetched: performance.getEntriesByType('resource').map((e) => e.name)
      .filter((u) => !u.startsWith('file:') && !u.startsWith('data:')),
  };
})()
"""


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["l"] >= outer["l"] - TOLERANCE
        and inner["r"] <= outer["r"] + TOLERANCE
        and inner["t"] >= outer["t"] - TOLERANCE
        and inner["b"] <= outer["b"] + TOLERANCE
    )


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        min(a["r"], b["r"]) - max(a["l"], b["l"]) > TOLERANCE
        and min(a["b"], b["b"]) - max(a["t"], b["t"]) > TOLERANCE
    )


def misfits(figure: dict[str, Any]) -> list[str]:
    """What a reader would find wrong with one drawn figure, in words."""
    return _size_misfits(figure) + _legend_misfits(figure) + _text_misfits(figure)


def _size_misfits(figure: dict[str, Any]) -> list[str]:
    cell, svg = figure["cell"], figure["svg"]
    cell_w, svg_w = cell["r"] - cell["l"], svg["r"] - svg["l"]
    out = []
    if svg["l"] < cell["l"] - TOLERANCE or svg["r"] > cell["r"] + TOLERANCE:
        out.append(f"drawn {svg_w:.0f} px wide at x={svg['l']:.0f}, its cell {cell_w:.0f} px")
    elif svg_w < cell_w - 2 * TOLERANCE:
        out.append(f"drawn {svg_w:.0f} px wide, narrower than its {cell_w:.0f} px cell")
    if svg["t"] < cell["t"] - TOLERANCE or svg["b"] > cell["b"] + TOLERANCE:
        out.append(f"drawn {svg['b'] - svg['t']:.0f} px high, taller than its cell")
    if not _inside(cell, figure["grid"]):
        out.append("its cell sticks out of the grid")
    if figure["plot_height"] < 150:
        out.append(f"plot area only {figure['plot_height']:.0f} px high")
    return out


def _legend_misfits(figure: dict[str, Any]) -> list[str]:
    legend = figure["legend"]
    if not figure["legend_expected"]:
        return []
    if legend is None or legend["r"] - legend["l"] < 5 or legend["b"] - legend["t"] < 5:
        return ["no legend drawn"]
    if not _inside(legend, figure["svg"]):
        return [f"legend cut off (x {legend['l']:.0f}..{legend['r']:.0f})"]
    if figure["legend_items"] == 0:
        return ["legend has no entries"]
    return []


def _text_misfits(figure: dict[str, Any]) -> list[str]:
    """Titles and tick labels: inside the figure, clear of each other and of the legend."""
    svg, legend, titles = figure["svg"], figure["legend"], figure["titles"]
    out = []
    for i, text in enumerate(titles + figure["ticks"]):
        what = f"{'tick label' if text['kind'] == 'tick' else 'title'} {text['text'][:30]!r}"
        if not _inside(text["box"], svg):
            out.append(f"{what} cut off")
        later_titles = titles if text["kind"] == "tick" else titles[i + 1 :]
        out += [
            f"{what} runs into title {title['text'][:30]!r}"
            for title in later_titles
            if _overlap(text["box"], title["box"])
        ]
        if (
            legend is not None
            and text["kind"] != "legendtitletext"
            and _overlap(text["box"], legend)
        ):
            out.append(f"the legend covers {what}")
    return out


def _look(browser: Browser, figures: int) -> dict[str, Any]:
    drawn = browser.wait_for(DRAWN_JS % figures, timeout=60, settle=1.0)
    assert not drawn.startswith("error"), drawn
    page: dict[str, Any] = browser.evaluate(FIGURES_JS)
    assert len(page["figures"]) == figures
    return page


def _problems(page: dict[str, Any]) -> list[str]:
    return [
        f"{f['id']} ({f['title'][:50]}): {problem}"
        for f in page["figures"]
        for problem in misfits(f)
    ]


@pytest.fixture(scope="module")
def report_page(sample_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    page = tmp_path_factory.mktemp("report") / "report.html"
    report = write_report(sample_lake, page, "html", TRACES)
    assert [t.info.name for t in report.traces] == TRACES
    figures = sum(len(s.figures) for tr in report.traces for s in tr.sections)
    assert figures >= 30
    return page, figures


@pytest.mark.parametrize(("first", "then"), [(1400, 900), (900, 1400)])
def test_every_figure_fits_its_cell(
    report_page: tuple[Path, int], tmp_path: Path, first: int, then: int
) -> None:
    """Opened at `first` px, then the window resized to `then` px: each time every figure is
    drawn at its cell's width, legend and titles inside it, and rows of two figures stand
    side by side on the wide window and one above the other on the narrow one."""
    path, figures = report_page
    browser = Browser(tmp_path / "profile", width=first, height=1000)
    try:
        browser.navigate(path.as_uri())
        for width in (first, then):
            browser.resize(width)
            page = _look(browser, figures)
            assert page["width"] == width
            problems = _problems(page)
            assert not problems, (
                f"{len({p.split(' ')[0] for p in problems})} of {figures} figures do not fit "
                f"at {width} px:\n" + "\n".join(problems)
            )
            assert page["scroll_width"] <= width, "the page scrolls sideways"
            assert page["fetched"] == [], "the page fetched something: it must work offline"
            columns_per_grid: dict[float, set[int]] = {}
            for f in page["figures"]:
                columns_per_grid.setdefault(f["grid"]["t"], set()).add(round(f["cell"]["l"]))
            most = max(len(c) for c in columns_per_grid.values())
            assert most == (2 if width >= 1400 else 1), (width, columns_per_grid)
    finally:
        browser.close()
