"""Apache Spark sessions for the `spark` engine of ingest and analysis.

One classic session per process (local[2] by default, spark-submit's master when run under
it, or $TRACES_SPARK_MASTER), or a Spark Connect session for a `sc://host:port` URL or
$TRACES_SPARK_REMOTE. pyspark is imported only here and only when asked for: it is an extra.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

SPARK_REMOTE_ENV = "TRACES_SPARK_REMOTE"
SPARK_MASTER_ENV = "TRACES_SPARK_MASTER"

LOG4J = Path(__file__).with_name("spark_log4j2.properties")
PANDAS_WARNING = "PySpark does not yet fully support pandas"

_SESSION: Any = None


def spark_available(remote: str | None = None) -> str | None:
    """None when Spark can run here (a local one, or Spark Connect at `remote`); else why not."""
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError as e:
        return f"the spark extra is not installed ({e.name} missing)"
    if not (remote or os.environ.get(SPARK_REMOTE_ENV)) and not (
        shutil.which("java") or os.environ.get("JAVA_HOME")
    ):
        return "no Java on PATH (Spark needs Java 17) and no $TRACES_SPARK_REMOTE"
    return None


def spark_session(remote: str | None = None) -> Any:
    """A Spark Connect session for `remote` (or $TRACES_SPARK_REMOTE), else one classic
    session per process, shared: spark-submit's master, $TRACES_SPARK_MASTER or local[2]."""
    global _SESSION
    # pyspark warns about pandas 3 on import and on every Arrow transfer; it works here.
    warnings.filterwarnings("ignore", message=PANDAS_WARNING, category=FutureWarning)
    from pyspark.sql import SparkSession

    remote = remote or os.environ.get(SPARK_REMOTE_ENV)
    if remote:
        return SparkSession.builder.remote(remote).getOrCreate()
    if _SESSION is None:
        builder = SparkSession.builder
        # Under spark-submit (which starts the JVM and sets PYSPARK_GATEWAY_PORT) the master
        # comes from --master; else $TRACES_SPARK_MASTER, else local[2].
        master = os.environ.get(SPARK_MASTER_ENV)
        if master or "PYSPARK_GATEWAY_PORT" not in os.environ:
            master = master or "local[2]"
            builder = builder.master(master)
            # Python tasks (ingest's) run in worker processes: the driver's interpreter, so
            # they import this package and its DuckDB, not whatever `python3` is on PATH.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        if master and master.startswith("local"):
            # Small shuffles for a 2-core machine; no web UI; the JVM within a report's budget;
            # errors only from Spark's logging and no console progress bar (ours is drawn).
            builder = (
                builder.config("spark.sql.shuffle.partitions", "4")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.memory", "2g")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile={LOG4J}")
            )
            # pyspark warns about pandas 3 in every process that touches Arrow, workers too.
            os.environ.setdefault("PYTHONWARNINGS", f"ignore:{PANDAS_WARNING}:FutureWarning")
        _SESSION = (
            builder.appName("workload-traces")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION
