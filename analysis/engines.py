"""Query engines under `LakeDB`: the same analysis/queries/*.sql on DuckDB (default) or Spark.

An engine registers one view per lake table over `<lake>/<table>/trace=*/part-*.parquet` (Hive
partitions), the views of analysis/queries/view_*.sql on top, and runs SQL with `$name`
parameters, returning polars. The queries are written in DuckDB's dialect; `SparkEngine`
translates each one with sqlglot once (cached) and fixes, on the syntax tree, the places where
sqlglot's DuckDB -> Spark translation keeps the text but changes the numbers (see
`spark_sql`). Parameters go to Spark as named parameter markers (`:name`, bound by Spark), never
pasted into the text. Python statistics run on the aggregates either engine returns.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import duckdb
import polars as pl
import pyarrow as pa

from ingest.errors import UsageError
from ingest.lake import TableLocation
from ingest.spark import spark_available, spark_session

ENGINES = ("duckdb", "spark")


class Engine(Protocol):
    """What `LakeDB` needs from a query engine."""

    name: str

    def register_table(self, table: str, location: TableLocation) -> None:
        """A view `table` over the lake's Parquet files of that table (local or remote)."""

    def register_empty(self, table: str, schema: pa.Schema) -> None:
        """An empty, typed stand-in for a table this lake does not have."""

    def register_view(self, name: str, sql: str) -> None:
        """A view `name` defined by `sql` (DuckDB dialect)."""

    def sql(self, text: str, **params: Any) -> pl.DataFrame:
        """Run `text` (DuckDB dialect, `$name` parameters) and return the result."""

    def close(self) -> None: ...


# ---------------------------------------------------------------- DuckDB


class DuckDBEngine:
    """The embedded default: one in-process DuckDB connection."""

    name = "duckdb"

    def __init__(self, threads: int | None = None, memory_limit: str = "1GB") -> None:
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        # Spill to disk rather than grow: a report must fit in 2 GiB beside Python's own use.
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")

    def register_table(self, table: str, location: TableLocation) -> None:
        if location.filesystem is not None:
            # An object store, through pyarrow's file system: DuckDB scans the Arrow dataset
            # with projection and filter pushdown, and needs no extension (httpfs would be
            # downloaded at run time). Every file carries its `trace` column.
            import pyarrow.dataset as ds

            files = list(location.files)
            dataset = ds.dataset(files, filesystem=location.filesystem, format="parquet")
            self.con.register(table, dataset)
            return
        # Exactly the layout's depth: a folder such as `_attempt-*` (a Spark task's leftover)
        # or `_q0` inside a trace is never read, as Spark skips `_` folders too.
        glob = str(Path(location.uri) / "trace=*" / "*.parquet").replace("'", "''")
        self.con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{glob}', "
            # Not hive_partitioning: every file carries its own `trace` column, and a `k=v`
            # folder above the lake (`runs/trace=x/lake`) would otherwise become a column.
            "hive_partitioning = false, union_by_name = true)"
        )

    def register_empty(self, table: str, schema: pa.Schema) -> None:
        self.con.register(table, schema.empty_table())

    def register_view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE VIEW {name} AS {sql}")

    def sql(self, text: str, **params: Any) -> pl.DataFrame:
        return self.con.sql(text, params=params or None).pl()

    def close(self) -> None:
        self.con.close()


# ---------------------------------------------------------------- Spark: DuckDB SQL -> Spark SQL


def _fix_epoch(node: Any) -> Any:
    """EXTRACT(EPOCH FROM ts) -> DuckDB's own arithmetic on the microseconds.

    Spark has no EPOCH field (sqlglot keeps it as is). DuckDB 2.0 computes epoch seconds as
    whole milliseconds / 1e3 + the remaining microseconds / 1e6, which differs from
    microseconds / 1e6 in the last bit for about 15% of our timestamps; gaps between
    timestamps 1.7e9 s from the epoch amplify that to ~1e-9 relative, so repeat it exactly."""
    import sqlglot
    from sqlglot import exp

    if isinstance(node, exp.Extract) and node.this.name.upper() == "EPOCH":
        tree = sqlglot.parse_one(
            "CAST(UNIX_MICROS(__ts__) DIV 1000 AS DOUBLE) / CAST(1000 AS DOUBLE)"
            " + CAST(UNIX_MICROS(__ts__) % 1000 AS DOUBLE) / CAST(1000000 AS DOUBLE)",
            read="spark",
        )
        for col in list(tree.find_all(exp.Column)):
            if col.name == "__ts__":
                col.replace(node.expression.copy())
        return exp.Paren(this=tree)
    return node


def _fix_percentile(node: Any) -> Any:
    """PERCENTILE_CONT(q) WITHIN GROUP (ORDER BY x) -> PERCENTILE(x, q): exact, linearly
    interpolated, as DuckDB's. sqlglot writes PERCENTILE_APPROX, which is not."""
    from sqlglot import exp

    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        order = node.expression
        keys = order.expressions if isinstance(order, exp.Order) else [order]
        if len(keys) != 1 or keys[0].args.get("desc"):
            raise ValueError(f"unsupported ordered-set aggregate: {node.sql('duckdb')}")
        x = keys[0].this if isinstance(keys[0], exp.Ordered) else keys[0]
        return exp.Anonymous(this="PERCENTILE", expressions=[x.copy(), node.this.this.copy()])
    return node


def _fix_decimal_literal(node: Any) -> Any:
    """1.0 -> 1.0D. Both engines read 1.0 as a DECIMAL, but DuckDB turns DECIMAL averages and
    DECIMAL-double arithmetic into DOUBLE while Spark keeps DECIMAL at a fixed scale (AVG of
    1.0/0.0 to 5 decimals). Our queries mean doubles wherever they write a decimal point."""
    from sqlglot import exp

    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.this
        if any(c in text for c in ".eE") and not text.upper().endswith("D"):
            return exp.Literal.number(f"{text}D")
    return node


def _fix_rounding(node: Any) -> Any:
    """FLOOR/CEIL of a DOUBLE stay DOUBLE (DuckDB); Spark returns BIGINT."""
    from sqlglot import exp

    if isinstance(node, exp.Floor | exp.Ceil) and not isinstance(node.parent, exp.Cast):
        return exp.cast(node.copy(), exp.DataType.build("DOUBLE"))
    return node


def _fix_row_number(node: Any) -> Any:
    """ROW_NUMBER() is INT in Spark, BIGINT in DuckDB."""
    from sqlglot import exp

    if (
        isinstance(node, exp.Window)
        and isinstance(node.this, exp.RowNumber)
        and not isinstance(node.parent, exp.Cast)
    ):
        return exp.cast(node.copy(), exp.DataType.build("BIGINT"))
    return node


SPARK_FIXES: tuple[Callable[[Any], Any], ...] = (
    _fix_percentile,
    _fix_epoch,
    _fix_decimal_literal,
    _fix_rounding,
    _fix_row_number,
)


@cache
def spark_sql(duckdb_sql: str) -> str:
    """`duckdb_sql` in Spark's dialect, `$name` parameters as Spark's `:name` markers."""
    import sqlglot

    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    for fix in SPARK_FIXES:
        tree = tree.transform(fix)
    return tree.sql("spark", comments=False)


def plain_spark_sql(duckdb_sql: str) -> str:
    """sqlglot's translation alone, without `SPARK_FIXES`: to measure what they are for."""
    import sqlglot

    return sqlglot.transpile(duckdb_sql, read="duckdb", write="spark", comments=False)[0]


# ---------------------------------------------------------------- Spark: the engine


class SparkEngine:
    """Apache Spark over the same lake: local[2] by default, or a Spark Connect URL."""

    name = "spark"

    def __init__(self, remote: str | None = None, session: Any = None) -> None:
        self.spark = session if session is not None else spark_session(remote)
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        # Partition values stay strings, as DuckDB's hive_partitioning reads them.
        self.spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        # DuckDB's semantics where they differ from ANSI mode: x / 0 is NULL, not an error.
        self.spark.conf.set("spark.sql.ansi.enabled", "false")
        self.views: list[str] = []

    def register_table(self, table: str, location: TableLocation) -> None:
        # Spark reads object stores with its own Hadoop connectors (s3a://, gs://, abfss://),
        # configured on the cluster: pyarrow's s3:// is Hadoop's s3a://.
        uri = location.uri
        if uri.startswith("s3://"):
            uri = "s3a://" + uri[len("s3://") :]
        df = (
            self.spark.read.option("mergeSchema", "true")
            .option("basePath", uri)
            .option("pathGlobFilter", "*.parquet")
            .parquet(uri)
        )
        df.createOrReplaceTempView(table)
        self.views.append(table)

    def register_empty(self, table: str, schema: pa.Schema) -> None:
        self.spark.createDataFrame(schema.empty_table()).createOrReplaceTempView(table)
        self.views.append(table)

    def register_view(self, name: str, sql: str) -> None:
        self.spark.sql(spark_sql(sql)).createOrReplaceTempView(name)
        self.views.append(name)

    def sql(self, text: str, **params: Any) -> pl.DataFrame:
        df = self.spark.sql(spark_sql(text), args=_spark_args(params) or None)
        return _to_duckdb_types(pl.from_arrow(df.toArrow()))

    def close(self) -> None:
        for view in self.views:
            self.spark.catalog.dropTempView(view)
        self.views.clear()


def _spark_args(params: dict[str, Any]) -> dict[str, Any]:
    from pyspark.sql import functions as F

    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, list | tuple):
            out[key] = F.array(*[F.lit(v) for v in value])
        else:
            out[key] = F.lit(value)
    return out


def _to_duckdb_types(df: Any) -> pl.DataFrame:
    """Result columns as DuckDB types them: DECIMALs with a fraction become Float64 (DuckDB
    divides DECIMALs into DOUBLE, Spark into DECIMAL)."""
    assert isinstance(df, pl.DataFrame)
    casts = []
    for col, dtype in df.schema.items():
        if isinstance(dtype, pl.Decimal) and (dtype.scale or 0) > 0:
            casts.append(pl.col(col).cast(pl.Float64))
    return df.with_columns(casts) if casts else df


def make_engine(engine: str | Engine = "duckdb", **options: Any) -> Engine:
    """An engine by name: `duckdb`; `spark` (local[2], or the Spark Connect URL in
    $TRACES_SPARK_REMOTE); a Spark Connect URL `sc://host:port`; or the given instance."""
    if not isinstance(engine, str):
        return engine
    if engine == "duckdb":
        return DuckDBEngine(**options)
    if engine == "spark" or engine.startswith("sc://"):
        why = spark_available(engine if engine.startswith("sc://") else None)
        if why:
            raise UsageError(
                f"--engine spark: {why}. Install with: pip install '.[spark]' (and Java 17 "
                "for a local Spark)."
            )
        return SparkEngine(remote=engine if engine.startswith("sc://") else None)
    raise UsageError(
        f"unknown engine {engine!r}; use one of {', '.join(ENGINES)} or a Spark Connect "
        "URL (sc://host:15002)"
    )
