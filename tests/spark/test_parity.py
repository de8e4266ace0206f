"""`--engine spark` gives the DuckDB report: the same .sql queries, transpiled by sqlglot.

Counts must agree exactly, statistics within 1e-9 relative (the engines add doubles in
different orders, and Spark interpolates percentiles with another formula).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from analysis import report
from analysis.db import QUERIES, LakeDB, query_text

TRACES = (
    "azure_llm_2023_conv",
    "google_2011_jobs",
    "mooncake_conversation",
    "azure_functions_2019",
)
REL = 1e-9


def mismatches(a: Any, b: Any, path: str = "$") -> list[str]:
    """Where two JSON-like values differ: ints, strings, None exactly; floats within REL."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a.keys() ^ b.keys())}"]
        return [m for k in a for m in mismatches(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [
            m
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for m in mismatches(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
            return [] if a == b else [f"{path}: {a!r} vs {b!r}"]
        x, y = float(a), float(b)
        if type(a) is not type(b):
            return [f"{path}: {a!r} ({type(a).__name__}) vs {b!r} ({type(b).__name__})"]
        if x == y or (math.isnan(x) and math.isnan(y)):
            return []
        return [] if abs(x - y) <= REL * max(abs(x), abs(y)) else [f"{path}: {a!r} vs {b!r}"]
    return [] if a == b and type(a) is type(b) else [f"{path}: {a!r} vs {b!r}"]


def frame_mismatches(a: pl.DataFrame, b: pl.DataFrame) -> list[str]:
    if a.schema != b.schema:
        return [f"schema {a.schema} vs {b.schema}"]
    return mismatches(a.to_dicts(), b.to_dicts())


@pytest.fixture(scope="session")
def reports(duck_db: LakeDB, spark_db: LakeDB) -> tuple[dict[str, Any], dict[str, Any]]:
    """The full report of the sample lake (every trace, every section) on both engines."""
    duck = report.to_json(report.build_report(duck_db))
    spark = report.to_json(report.build_report(spark_db))
    return duck, spark


def test_every_kind_of_characterization_is_in_the_report(
    reports: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    duck, _ = reports
    assert set(TRACES) <= set(duck["traces"]) and len(duck["traces"]) >= 14
    sections = {k for t in duck["traces"].values() for k in t}
    assert {"burstiness", "failures", "cold_starts", "tokens"} <= sections


@pytest.mark.parametrize("trace", TRACES)
def test_every_section_agrees(reports: tuple[dict[str, Any], dict[str, Any]], trace: str) -> None:
    duck, spark = reports
    assert mismatches(duck["traces"][trace], spark["traces"][trace]) == []


def test_every_trace_agrees(reports: tuple[dict[str, Any], dict[str, Any]]) -> None:
    duck, spark = reports
    assert duck["traces"].keys() == spark["traces"].keys()
    assert {
        t: m for t in duck["traces"] if (m := mismatches(duck["traces"][t], spark["traces"][t]))
    } == {}


def test_the_json_reports_are_byte_identical(
    reports: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """Stronger than the tolerance above, and true today: quantiles use the same arithmetic on
    both engines and sums are exact or rounded. If an engine upgrade breaks this, the
    tolerance tests say whether the difference matters."""
    from analysis.db import dumps

    duck, spark = reports
    assert dumps(duck) == dumps(spark)


def test_comparison_agrees(reports: tuple[dict[str, Any], dict[str, Any]]) -> None:
    duck, spark = reports
    assert mismatches(duck["comparison"], spark["comparison"]) == []
    assert duck["not_characterized"] == spark["not_characterized"]


QUERY_CASES: dict[str, list[dict[str, Any]]] = {
    # queries the report above does not reach on these traces, on the traces that have data
    "invocations_frequency": [
        {"source": "series", "trace": "azure_functions_2019", "level": "app"},
        {"source": "series", "trace": "azure_functions_2019", "level": "function"},
    ],
    "coldstarts_fixed": [
        {"source": "requests", "trace": "azure_functions_2021", "windows": [60.0, 600.0]}
    ],
    "failures_published": [{"trace": "acme_cluster_summary"}],
}


@pytest.mark.parametrize(
    ("name", "params"), [(n, p) for n, cases in QUERY_CASES.items() for p in cases]
)
def test_other_queries_agree(
    duck_db: LakeDB, spark_db: LakeDB, name: str, params: dict[str, Any]
) -> None:
    duck = duck_db.query(name, **params)
    assert duck.height > 0
    assert frame_mismatches(duck, spark_db.query(name, **params)) == []


def test_variability_agrees(duck_db: LakeDB, spark_db: LakeDB) -> None:
    traces = duck_db.sql("SELECT DISTINCT trace FROM measurements ORDER BY trace")["trace"]
    assert traces.len() > 0
    for trace in traces:
        duck = duck_db.query("variability_cv", trace=trace)
        spark = spark_db.query("variability_cv", trace=trace)
        assert frame_mismatches(duck, spark) == [], trace


def test_scalar_and_sql_agree(duck_db: LakeDB, spark_db: LakeDB) -> None:
    text = "SELECT COUNT(*) AS n FROM requests WHERE trace = $trace"
    for trace in TRACES:
        assert duck_db.scalar(text, trace=trace) == spark_db.scalar(text, trace=trace)


def test_every_query_transpiles_without_approximations() -> None:
    """What the Spark SQL must never hold: sqlglot's approximate percentile, an EPOCH field
    Spark rejects, or a `$` parameter pasted as text."""
    pytest.importorskip("sqlglot")
    from analysis.engines import spark_sql

    names = sorted(p.stem for p in Path(QUERIES).glob("*.sql"))
    assert len(names) >= 30
    for name in names:
        text = spark_sql(query_text(name)).upper()
        assert "PERCENTILE_APPROX" not in text, name
        assert "EPOCH" not in text, name
        # no parameter left unbound ($name); '$.key' JSON paths are fine
        assert not re.search(r"\$[A-Za-z_]", text), name


def test_a_table_the_lake_lacks_is_an_empty_typed_view(spark: Any) -> None:
    from analysis.engines import SparkEngine
    from ingest.schema import TABLES

    engine = SparkEngine(session=spark)
    engine.register_empty("empty_jobs", TABLES["jobs"].schema)
    try:
        out = engine.sql(
            "SELECT COUNT(*) AS n, MAX(run_s) AS m FROM empty_jobs WHERE trace = $t", t="x"
        )
        assert out.to_dicts() == [{"n": 0, "m": None}]
        assert out.schema["m"] == pl.Float64
    finally:
        engine.close()
