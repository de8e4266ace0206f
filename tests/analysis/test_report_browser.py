"""The HTML report in a real browser: headless Chromium renders every figure with no network."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from analysis.report import write_report
from tests.dashboards.cdp import CHROMIUM, FLAGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)"),
]


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_renders_offline_in_chromium(sample_lake: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    traces = ["azure_llm_2023_conv", "burstgpt_schema_fixture", "google_2011_jobs"]
    report = write_report(sample_lake, page, "html", traces)
    figures = sum(len(s.figures) for tr in report.traces for s in tr.sections)
    assert figures > 0
    dom = _chromium(
        "--virtual-time-budget=15000", "--dump-dom", page.as_uri(), profile=tmp_path / "p1"
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    # plotly draws each figure as an SVG with class main-svg once its script has run.
    assert dom.stdout.count('class="main-svg"') >= figures
    shot = tmp_path / "report.png"
    result = _chromium(
        f"--screenshot={shot}",
        "--window-size=1280,2400",
        "--virtual-time-budget=15000",
        page.as_uri(),
        profile=tmp_path / "p2",
    )
    assert result.returncode == 0 and shot.stat().st_size > 50_000
