"""PNGs of an HTML report as a reader sees it, for people to look at after changing its layout.

For each window width (1,400 and 900 px by default) the page is opened in headless Chromium (no
network), every figure is left to draw, and the script writes the top of the page (header and
comparison table) and one picture per trace section:

    .venv/bin/traces report --lake lake --out report.html
    .venv/bin/python tools/report_screenshots.py report.html --out out/screenshots

The browser test (tests/analysis/test_report_browser.py) asserts that the figures fit; this is
for the eye. Needs Debian's chromium package.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.dashboards.cdp import CHROMIUM, Browser  # after the repository root is on the path

# Sizes of the drawn figures and the page once all `n` are drawn (null before); once they
# stop changing, drawing (and growing a figure whose plot was squeezed) is done.
DRAWN_JS = """
((n) => {
  const svgs = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .map((gd) => gd.querySelector('.main-svg')).filter((s) => s);
  if (document.readyState !== 'complete' || svgs.length < n) return null;
  const size = (s) => {
    const b = s.getBoundingClientRect();
    return Math.round(b.width) + 'x' + Math.round(b.height);
  };
  return svgs.map(size).join(',') + ' page ' + document.documentElement.scrollHeight;
})(%d)
"""
MAX_SHOT_PX = 12000  # the tallest picture (and window) taken of one part
FIGURE_COUNT_JS = "String(document.querySelectorAll('div[id^=\"fig-\"]').length)"
# Page-coordinate boxes of the parts worth a picture each: the top of the page, every trace.
PARTS_JS = """
(() => {
  const part = (e, name) => {
    const b = e.getBoundingClientRect();
    return {name: name, x: b.left + scrollX, y: b.top + scrollY, w: b.width, h: b.height};
  };
  const top = document.querySelector('#comparison');
  const out = [];
  if (top) {
    const b = top.getBoundingClientRect();
    out.push({name: 'top', x: 0, y: 0, w: document.documentElement.clientWidth,
              h: b.bottom + scrollY + 8});
  }
  document.querySelectorAll('section.trace[id]').forEach((s) => {
    if (s.id !== 'comparison') out.push(part(s, s.id));
  });
  return out;
})()
"""


def _part(browser: Browser, name: str) -> dict[str, float]:
    return dict(next(p for p in browser.evaluate(PARTS_JS) if p["name"] == name))


def shoot(
    report: Path, out: Path, widths: list[int], traces: list[str] | None = None
) -> list[Path]:
    """Write the PNGs of `report` at each of `widths` into `out`; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="report-shots-") as tmp:
        for width in widths:
            browser = Browser(Path(tmp) / f"profile-{width}", width=width, height=1000)
            try:
                browser.navigate(report.resolve().as_uri())
                figures = int(browser.wait_for(FIGURE_COUNT_JS, timeout=60, settle=0.3))
                drawn = DRAWN_JS % figures
                browser.wait_for(drawn, timeout=180, settle=1.0)
                names = [p["name"] for p in browser.evaluate(PARTS_JS)]
                for i, name in enumerate(names):
                    if traces and name not in {"top", *traces}:
                        continue
                    # The window made as tall as the part and scrolled to it, so that the shot
                    # is of what a reader scrolling there sees (a capture beyond the window
                    # resizes it while shooting, and the figures redraw meanwhile).
                    part = _part(browser, name)
                    browser.resize(width, max(200, min(round(part["h"]), MAX_SHOT_PX)))
                    browser.evaluate(f"window.scrollTo(0, {part['y']})")
                    browser.wait_for(drawn, timeout=60, settle=0.5)
                    part = _part(browser, name)
                    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
                    path = out / f"report-{width}px-{i:02d}-{safe}.png"
                    browser.screenshot_clip(
                        path, part["x"], part["y"], part["w"], min(part["h"], MAX_SHOT_PX)
                    )
                    written.append(path)
            finally:
                browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="the HTML report (traces report --out ...)")
    parser.add_argument("--out", type=Path, default=Path("out/screenshots"))
    parser.add_argument("--width", type=int, action="append", help="px; default 1400 and 900")
    parser.add_argument("--trace", action="append", help="only these traces' sections")
    args = parser.parse_args(argv)
    if CHROMIUM is None:
        print("chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 2
    if not args.report.is_file():
        print(f"{args.report}: no such file; make one with `traces report`", file=sys.stderr)
        return 2
    paths = shoot(args.report, args.out, args.width or [1400, 900], args.trace)
    for path in paths:
        print(path)
    print(f"{len(paths)} screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
