"""Spark parity tests: one local[2] Spark session per test session, over the sample lake.

They skip, saying why, when the `spark` extra (pyspark, sqlglot) or Java is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.db import LakeDB
from analysis.engines import spark_available


def pytest_configure(config: pytest.Config) -> None:
    # Until pyproject.toml declares it: --strict-markers would refuse the marker.
    config.addinivalue_line("markers", "spark: runs queries on a local Apache Spark (Java 17)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def spark() -> Any:
    why = spark_available()
    if why:
        pytest.skip(f"Spark parity tests need Spark: {why}")
    from analysis.engines import spark_session

    return spark_session()


@pytest.fixture(scope="session")
def duck_db(sample_lake: Path) -> Iterator[LakeDB]:
    db = LakeDB(sample_lake)
    yield db
    db.close()


@pytest.fixture(scope="session")
def spark_db(sample_lake: Path, spark: Any) -> Iterator[LakeDB]:
    from analysis.engines import SparkEngine

    db = LakeDB(sample_lake, engine=SparkEngine(session=spark))
    yield db
    db.close()


@pytest.fixture(scope="session")
def spark_home() -> Path:
    """The pyspark install, whose bin/spark-submit the cluster-mode tests run; skips as the
    parity tests do when Spark cannot run here."""
    why = spark_available()
    if why:
        pytest.skip(f"Spark tests need Spark: {why}")
    import pyspark

    return Path(pyspark.__file__).parent


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def spark_connect_url(spark_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark Connect server (local[2]) started from the pyspark install, as a user would with
    `spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer`."""
    import os
    import socket
    import subprocess
    import sys
    import time

    try:
        import grpc  # noqa: F401
    except ImportError:
        pytest.skip("Spark Connect needs pyspark[connect] (grpcio): pip install -e '.[spark]'")
    home = spark_home
    port = _free_port()
    log = tmp_path_factory.mktemp("spark-connect") / "server.log"
    env = {**os.environ, "SPARK_HOME": str(home), "PYSPARK_PYTHON": sys.executable}
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                str(home / "bin" / "spark-submit"),
                "--class",
                "org.apache.spark.sql.connect.service.SparkConnectServer",
                "--master",
                "local[2]",
                "--conf",
                f"spark.connect.grpc.binding.port={port}",
                "--conf",
                "spark.ui.enabled=false",
                "--conf",
                "spark.sql.shuffle.partitions=4",
                "spark-internal",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            # its own working directory, as on a real server: relative paths must not work
            cwd=tmp_path_factory.mktemp("spark-connect-cwd"),
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                pytest.fail(f"Spark Connect server exited: {log.read_text()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"Spark Connect server did not listen: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
