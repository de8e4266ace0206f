"""Dashboard page times in headless Chromium: first load, cached reload, in-app page switch.

    python benchmarks/dashboard.py LAKE MODELS_DIR OUT_DIR

LAKE is e.g. the 10M-request lake of `python benchmarks/report.py --keep /tmp/lake10m`;
MODELS_DIR holds model folders for the predictors page (may be empty); OUT_DIR receives a
screenshot of each page. "First load" is a fresh server with nothing cached; "cached reload"
navigates to the page again by URL; "switch" clicks the page in the sidebar once all is cached.
Times run from navigation until every plotly chart on the page is drawn.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This folder's ingest.py would shadow the `ingest` package: import from the repository root.
sys.path[0] = str(ROOT)

from dashboards.launch import start_dashboard  # noqa: E402
from tests.dashboards.cdp import Browser, free_port, wait_http  # noqa: E402

PAGES = {
    "": "Traces in the lake",
    "arrivals": "Arrivals and burstiness",
    "tokens": "Token lengths",
    "failures": "Failures",
    "coldstarts": "Cold starts",
    "predictors": "Predictors",
    "compare": "Compare traces",
}
CLICK = (
    "Array.from(document.querySelectorAll('[data-testid=\"stSidebarNav\"] a'))"
    ".find(a => new URL(a.href).pathname.replace(/^\\//,'') === '{href}').click()"
)


def first_and_cached(browser: Browser, lake: Path, models: Path, out: Path) -> None:
    for path, title in PAGES.items():
        port = free_port()
        server = start_dashboard(lake, port, models=models, quiet=True)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/_stcore/health")
            # Warm the browser's JavaScript cache on a page that computes nothing.
            warm, warm_title = (
                ("predictors", "Predictors") if path != "predictors" else ("", PAGES[""])
            )
            browser.navigate(f"{url}/{warm}")
            browser.wait_rendered(timeout=120, charts=False, title=warm_title)
            runs = []
            for i in range(3):
                browser.navigate(f"{url}/{path}")
                state = browser.wait_rendered(timeout=600, charts=path != "coldstarts", title=title)
                runs.append(state["seconds"])
                if i == 0:
                    browser.screenshot(out / f"{path or 'overview'}.png")
            print(
                f"{path or 'overview':11} first {runs[0]:6.2f} s  cached reload "
                f"{min(runs[1:]):5.2f} s",
                flush=True,
            )
        finally:
            server.terminate()
            server.wait()


def switching(browser: Browser, lake: Path, models: Path) -> None:
    port = free_port()
    server = start_dashboard(lake, port, models=models, quiet=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/_stcore/health")
        browser.navigate(f"{url}/")
        browser.wait_rendered(timeout=60, title=PAGES[""])
        for round_ in range(2):  # the first round fills the caches
            for path, title in [*list(PAGES.items())[1:], ("", PAGES[""])]:
                browser.evaluate(CLICK.replace("{href}", path))
                state = browser.wait_rendered(timeout=600, charts=False, title=title)
                if round_ == 1:
                    print(
                        f"switch to {path or 'overview':11} {state['seconds']:5.2f} s", flush=True
                    )
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    lake, models, out = (Path(a) for a in sys.argv[1:])
    out.mkdir(parents=True, exist_ok=True)
    browser = Browser(out / "profile")
    try:
        first_and_cached(browser, lake, models, out)
        switching(browser, lake, models)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
