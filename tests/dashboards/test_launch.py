"""`traces dashboard` starts Streamlit headless, on 127.0.0.1, without usage statistics."""

from __future__ import annotations

from pathlib import Path

from dashboards.launch import APP, dashboard_env, streamlit_command


def test_streamlit_runs_the_app_locally_and_quietly() -> None:
    cmd = streamlit_command(8599)
    assert cmd[1:5] == ["-m", "streamlit", "run", str(APP)]
    flags = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert flags["--server.address"] == "127.0.0.1"
    assert flags["--server.port"] == "8599"
    assert flags["--server.headless"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert APP.is_file()


def test_the_lake_reaches_the_app_through_the_environment(tmp_path: Path) -> None:
    env = dashboard_env(tmp_path / "lake", models=tmp_path / "models")
    assert env["TRACES_LAKE"] == str((tmp_path / "lake").resolve())
    assert env["TRACES_MODELS"] == str((tmp_path / "models").resolve())
