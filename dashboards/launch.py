"""Start the dashboard: `streamlit run dashboards/app.py` as a child process, over one lake.

The CLI's `traces dashboard` calls `run_dashboard`; this module imports no Streamlit itself,
so the command starts fast and its help works without a display.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def streamlit_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """The `streamlit run` command line: headless, no usage statistics, no file watcher."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        # The app is not edited while it serves a lake: watching files only costs inotify
        # handles (and fails where they run out).
        "--server.fileWatcherType",
        "none",
        "--global.developmentMode",
        "false",
        # A local viewer: no "Deploy" button or developer menu.
        "--client.toolbarMode",
        "viewer",
    ]


def dashboard_env(lake: Path, models: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["TRACES_LAKE"] = str(Path(lake).expanduser().resolve())
    if models is not None:
        env["TRACES_MODELS"] = str(Path(models).expanduser().resolve())
    return env


def start_dashboard(
    lake: Path, port: int, host: str = "127.0.0.1", models: Path | None = None, quiet: bool = False
) -> subprocess.Popen[bytes]:
    """The server as a child process (tests stop it with .terminate())."""
    out = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(
        streamlit_command(port, host), env=dashboard_env(lake, models), stdout=out, stderr=out
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_dashboard(lake: Path, port: int, host: str = "127.0.0.1") -> int:
    """Serve the dashboard over `lake` at http://HOST:PORT until interrupted; the exit code."""
    print(f"Dashboard over {Path(lake).resolve()} at http://{host}:{port} (Ctrl+C stops it)")
    proc = start_dashboard(lake, port, host)
    # A terminated `traces dashboard` must not leave its server behind.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
