"""A read-only view of the lake for analyses: one DuckDB connection, one view per table.

Beside the tables, views defined in analysis/queries/view_<name>.sql put several tables under
common column names (`arrivals`: requests and jobs; `invocations`: requests and invocation
series), so one query serves them all. Every analysis takes a `LakeDB` (or builds one from a
lake path) plus trace names and returns tables; the CLI, the dashboard and the notebooks all go
through here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from analysis.engines import DuckDBEngine, Engine, make_engine
from ingest.errors import UnknownTrace
from ingest.lake import open_lake
from ingest.schema import TABLES
from ingest.sources.base import glob_escape

QUERIES = Path(__file__).resolve().parent / "queries"
VIEWS = ("arrivals", "invocations")  # analysis/queries/view_<name>.sql, over the tables


INCLUDE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@cache
def query_text(name: str) -> str:
    """The SQL of analysis/queries/<name>.sql, with each `{{fragment}}` replaced by the text of
    queries/fragment.sql (fragments are named with a leading `_`; they may include others)."""
    path = QUERIES / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"No query {name!r} in {QUERIES}")
    text = path.read_text()
    for line in text.splitlines():
        if line.lstrip().startswith("--") and INCLUDE.search(line):
            raise ValueError(f"{path}: an include in a comment would be expanded: {line.strip()}")
    return INCLUDE.sub(lambda m: query_text(m.group(1)).rstrip(), text)


@dataclass(frozen=True)
class TraceInfo:
    """What the manifest says about a trace that analyses must respect."""

    name: str
    source: str
    family: str
    tables: dict[str, int]
    time_resolution_s: float | None
    time_origin: str  # absolute | relative | none
    fixture_only: bool

    @property
    def has_time(self) -> bool:
        return self.time_origin != "none" and self.time_resolution_s is not None


class LakeDB:
    """DuckDB (or Spark) over `<lake>/<table>/trace=*/part-*.parquet`, with manifests at hand.

    `lake_dir` is a local lake or an object-store URI such as s3://bucket/lake (read in place,
    see `ingest.lake.RemoteLake`)."""

    def __init__(
        self,
        lake_dir: Path | str,
        threads: int | None = None,
        memory_limit: str = "1GB",
        engine: str | Engine = "duckdb",
    ) -> None:
        self.lake = open_lake(lake_dir)
        if engine == "duckdb":
            self.engine: Engine = DuckDBEngine(threads=threads, memory_limit=memory_limit)
        else:
            self.engine = make_engine(engine)
        self.infos: dict[str, TraceInfo] = {}
        for m in self.lake.manifests():
            self.infos[m["trace"]] = TraceInfo(
                name=m["trace"],
                source=m["source"],
                family=m.get("family", ""),
                tables=dict(m.get("tables", {})),
                time_resolution_s=m.get("time_resolution_s"),
                time_origin=m.get("time_origin", "absolute"),
                fixture_only=bool(m.get("fixture_only_source", False)),
            )
        self.tables: set[str] = set()
        for table in TABLES:
            if self.lake.has_table(table):
                location = self.lake.table_location(table)
                if isinstance(self.engine, DuckDBEngine) and location.filesystem is None:
                    # DuckDB reads every path as a glob: a lake under `runs[1]/` would read
                    # the tables of a lake under `runs1/`. Bracket the lake's own part.
                    location = replace(location, uri=glob_escape(location.uri))
                self.engine.register_table(table, location)
                self.tables.add(table)
            else:
                # An empty, typed stand-in: queries over several tables need not care which
                # tables this lake happens to have.
                self.engine.register_empty(table, TABLES[table].schema)
        for view in VIEWS:
            self.engine.register_view(view, query_text(f"view_{view}"))

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection (DuckDB engine only)."""
        if not isinstance(self.engine, DuckDBEngine):
            raise AttributeError(f"LakeDB.con: the {self.engine.name} engine has no DuckDB")
        return self.engine.con

    def traces(self) -> list[str]:
        return sorted(self.infos)

    def info(self, trace: str) -> TraceInfo:
        try:
            return self.infos[trace]
        except KeyError:
            known = ", ".join(self.traces()) or "none"
            raise UnknownTrace(
                f"No trace named {trace!r} in the lake at {self.lake.root}. Traces: {known}."
            ) from None

    def has(self, trace: str, table: str) -> bool:
        return table in self.tables and self.info(trace).tables.get(table, 0) > 0

    def sql(self, text: str, **params: Any) -> pl.DataFrame:
        """Run SQL (DuckDB dialect) with $name parameters; the result as a polars DataFrame."""
        return self.engine.sql(text, **params)

    def query(self, name: str, **params: Any) -> pl.DataFrame:
        """Run analysis/queries/<name>.sql with $name parameters."""
        return self.sql(query_text(name), **params)

    def quantiles(self, name: str, qs: Sequence[float], **params: Any) -> pl.DataFrame:
        """Statistics of the values analysis/queries/<name>.sql selects as (grp, part, x) rows:
        one row per (grp, part), sorted, with n, mean, x_min, x_max and a column per quantile
        in `qs` named by `quantile_name` (p10, p50, p99.9). One query, queries/quantiles.sql,
        computes them all, on either engine, spilling to disk."""
        head = "WITH counted AS ("
        body = query_text("quantiles")
        if head not in body:  # pragma: no cover - guards the text splice below
            raise ValueError("quantiles.sql must start its CTEs with `WITH counted AS (`")
        text = body.replace(
            head, f"WITH quantile_input AS (\n{query_text(name)}\n),\n{head[5:]}", 1
        )
        long = self.sql(text, qs=[float(q) for q in qs], **params)
        keys = ["grp", "part", "n", "mean", "x_min", "x_max"]
        names = {float(q): quantile_name(q) for q in qs}
        if long.is_empty():
            return long.select(keys).with_columns(
                [pl.lit(None, dtype=pl.Float64).alias(name) for name in names.values()]
            )
        labelled = long.with_columns(
            pl.col("q").replace_strict(names, return_dtype=pl.String).alias("q")
        )
        wide = labelled.pivot(on="q", index=keys, values="value", sort_columns=False)
        return wide.select(*keys, *[names[float(q)] for q in qs]).sort("grp", "part")

    def query_rounded(self, name: str, **params: Any) -> pl.DataFrame:
        """`query`, with float columns rounded by `rounded_table`: the same for the same lake."""
        return rounded_table(self.query(name, **params))

    def scalar(self, text: str, **params: Any) -> Any:
        if isinstance(self.engine, DuckDBEngine):
            rows = self.engine.con.sql(text, params=params or None).fetchall()
            return rows[0][0] if rows else None
        df = self.sql(text, **params)
        return df.item(0, 0) if df.height and df.width else None

    def close(self) -> None:
        self.engine.close()


def quantile_name(q: float) -> str:
    """The column of quantile q: p10 for 0.1, p99.9 for 0.999."""
    return f"p{q * 100:.6g}"


def rounded_table(df: pl.DataFrame, digits: int = 10) -> pl.DataFrame:
    """Float columns to `digits` significant digits.

    DuckDB sums doubles in parallel, so the last bits of a sum or mean vary between runs;
    rounding query results keeps every number built on them identical for the same lake.
    """
    return df.with_columns(
        [pl.col(c).round_sig_figs(digits) for c, t in df.schema.items() if t.is_float()]
    )


def jsonable(value: Any) -> Any:
    """Numbers and containers as JSON would keep them (NaN and inf become None)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if hasattr(value, "item"):  # numpy scalars
        return jsonable(value.item())
    return value


def dumps(data: Any) -> str:
    return json.dumps(jsonable(data), indent=2, sort_keys=True)
