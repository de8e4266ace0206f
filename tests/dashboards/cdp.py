"""A minimal Chrome DevTools Protocol client: headless Chromium, one page, navigate, wait, shoot.

A plain `chromium --screenshot` of a Streamlit page captures only its loading skeleton (the app
renders over a websocket after the load event), so the tests drive Chromium over its remote
debugging port instead and wait until the charts exist. Only `websockets` (a Streamlit
dependency) beyond the standard library; nothing is downloaded at run time.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags this sandbox needs (root, no GPU) and no background traffic of the browser's own.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--mute-audio",
)

# What the page shows right now: Streamlit's element test ids and plotly's drawn SVGs.
PAGE_STATE_JS = """
(() => {
  const q = (s) => document.querySelectorAll(s);
  const charts = q('[data-testid="stPlotlyChart"]');
  let drawn = 0;
  charts.forEach((c) => { if (c.querySelector('.js-plotly-plot .main-svg')) drawn += 1; });
  return {
    charts: charts.length,
    drawn: drawn,
    running: q('[data-testid="stStatusWidget"] *').length > 0
      || q('[data-testid="stSpinner"]').length > 0,
    exceptions: q('[data-testid="stException"]').length,
    app: q('[data-testid="stApp"]').length,
    skeleton: q('[data-testid="stAppSkeleton"]').length,
    title: (document.querySelector('h1') || {}).textContent || '',
    text: (document.querySelector('[data-testid="stMain"]') || document.body)
      .innerText.slice(0, 4000),
  };
})()
"""

SCROLL_HEIGHT_JS = """
Math.max(...Array.from(document.querySelectorAll(
  '[data-testid="stMain"], [data-testid="stAppViewContainer"], body')).map((e) => e.scrollHeight))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.2)


class Browser:
    """Headless Chromium with its DevTools endpoint on 127.0.0.1 and one page target."""

    def __init__(self, profile: Path, width: int = 1400, height: int = 1800) -> None:
        if CHROMIUM is None:
            raise RuntimeError("chromium is not installed")
        profile.mkdir(parents=True, exist_ok=True)
        # A reused profile still holds the port of the browser that used it last.
        (profile / "DevToolsActivePort").unlink(missing_ok=True)
        # Port 0: Chromium picks a free port and writes it to DevToolsActivePort.
        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                *FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._stack = contextlib.ExitStack()
        try:  # a browser that fails to connect is not left running
            self.ws: ClientConnection = self._connect(profile / "DevToolsActivePort")
            self._ids = itertools.count(1)
            self.width, self.height = width, height
            self.send("Page.enable")
            self.send("Runtime.enable")
            self._viewport(width, height)
        except BaseException:
            self.close()
            raise

    def _connect(self, port_file: Path) -> ClientConnection:
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            targets = json.load(r)
        page = next(t for t in targets if t["type"] == "page")
        return self._stack.enter_context(
            connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
        )

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command; events that arrive before its answer are dropped."""
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def state(self) -> dict[str, Any]:
        return dict(self.evaluate(PAGE_STATE_JS) or {})

    def wait_rendered(
        self,
        timeout: float = 60.0,
        settle: float = 1.0,
        charts: bool = True,
        title: str | None = None,
    ) -> dict[str, Any]:
        """Until the script has finished and every plotly chart on the page is drawn (with
        `charts`, at least one), the page shows `title` if given, and it has stayed that way
        for `settle` seconds; the page state then, with `seconds` from the call to the moment
        it was first complete."""
        start = time.monotonic()
        deadline = start + timeout
        stable_since, stable_key = 0.0, None
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = self.state()
            if state.get("exceptions"):
                return state
            done = (
                state.get("app")
                and not state.get("skeleton")
                and not state.get("running")
                and (state.get("charts", 0) > 0 or not charts)
                and state.get("drawn") == state.get("charts")
                and (title is None or state.get("title") == title)
            )
            key = (state.get("charts"), state.get("drawn"), state.get("title"))
            now = time.monotonic()
            if not done or key != stable_key:
                stable_since, stable_key = now, key if done else None
            elif now - stable_since >= settle:
                state["seconds"] = stable_since - start
                return state
            time.sleep(0.05)
        raise TimeoutError(f"page did not finish rendering within {timeout:.0f} s: {state}")

    def screenshot(self, path: Path, full_page: bool = True, max_height: int = 8000) -> int:
        """A PNG of the page; `full_page` grows the viewport to the app's scroll height first
        (Streamlit scrolls inside its own container, so Chromium's own full-page capture
        would still stop at the window)."""
        if full_page:
            height = int(self.evaluate(SCROLL_HEIGHT_JS) or self.height)
            self._viewport(self.width, min(max(height, self.height), max_height))
            time.sleep(0.5)  # the charts re-layout to the taller window
        try:
            data = base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])
        finally:
            if full_page:
                self._viewport(self.width, self.height)
        path.write_bytes(data)
        return len(data)

    def wait_for(self, expression: str, timeout: float = 60.0, settle: float = 0.5) -> Any:
        """Until the JavaScript `expression` is truthy and has kept the same value for `settle`
        seconds (a page still drawing keeps changing it); that value."""
        deadline = time.monotonic() + timeout
        last, since = None, 0.0
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            now = time.monotonic()
            if not value or value != last:
                last, since = value, now
            elif now - since >= settle:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"{expression!r} did not settle within {timeout:.0f} s: {last!r}")

    def resize(self, width: int, height: int | None = None) -> None:
        """Change the window size as a user would; the page gets its resize events."""
        self.width, self.height = width, height or self.height
        self._viewport(self.width, self.height)

    def screenshot_clip(self, path: Path, x: float, y: float, width: float, height: float) -> int:
        """A PNG of one rectangle of the page, in page coordinates; scroll it into the window
        first (a capture beyond the window resizes the window while shooting, and a page that
        redraws on resize, as plotly does, changes under the camera)."""
        clip = {"x": x, "y": y, "width": width, "height": height, "scale": 1}
        shot = self.send("Page.captureScreenshot", format="png", clip=clip)
        data = base64.b64decode(shot["data"])
        path.write_bytes(data)
        return len(data)

    def _viewport(self, width: int, height: int) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def close(self) -> None:
        stack = getattr(self, "_stack", None)
        if stack is not None:
            with contextlib.suppress(OSError):
                stack.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
