"""The comparison table reads named fields of typed results, and says why a cell is empty."""

from __future__ import annotations

import math

import pytest

from analysis import burstiness, compare, failures, tokens
from analysis.db import LakeDB
from analysis.presentation import MISSING

TRACES = ("google_2011_jobs", "azure_functions_2019", "azure_llm_2023_conv")


@pytest.fixture(scope="module")
def results(sample_lake) -> dict[str, compare.TraceResults]:  # type: ignore[no-untyped-def]
    db = LakeDB(sample_lake)
    try:
        return {
            t: compare.TraceResults(
                burstiness=burstiness.compute(db, t),
                failures=failures.compute(db, t),
                tokens=tokens.compute(db, t),
            )
            for t in TRACES
        }
    finally:
        db.close()


def test_rows_are_the_results_named_fields(db: LakeDB, results) -> None:  # type: ignore[no-untyped-def]
    rows = {r.trace: r for r in compare.headline_rows(db, results)}
    assert list(rows) == sorted(TRACES)
    jobs = rows["google_2011_jobs"]
    fail = results["google_2011_jobs"].failures
    assert fail is not None and fail.recorded is not None
    assert jobs.failure_ratio == fail.failure_ratio == fail.recorded.counts.failure_ratio
    counts = fail.recorded.counts
    assert jobs.failure_ratio == counts.unsuccessful_rows / counts.known_rows
    b = results["google_2011_jobs"].burstiness
    assert b is not None
    assert jobs.events == b.events == round(b.overall.summary.events)
    assert jobs.rate_per_s == pytest.approx(b.rate_per_s, rel=1e-5)
    assert jobs.input_p50 is None and jobs.family == "datacenter"
    llm = rows["azure_llm_2023_conv"]
    tok = results["azure_llm_2023_conv"].tokens
    assert tok is not None and (llm.input_p50, llm.output_p50) == (1020, 129)
    assert (tok.input_p50, tok.output_p50) == (1020, 129)
    # counts per minute: no gaps, so no inter-arrival CV
    assert rows["azure_functions_2019"].iat_cv is None
    hurst = rows["google_2011_jobs"].hurst
    estimates = (b.overall.hurst_aggregated_variance, b.overall.hurst_rescaled_range)
    assert hurst == pytest.approx(sum(estimates) / 2, rel=1e-5)
    assert all(math.isfinite(h) for h in estimates)


def test_table_schema_and_notes(db: LakeDB, results) -> None:  # type: ignore[no-untyped-def]
    df = compare.headline(db, results)
    assert df.columns == list(compare.COLUMNS)
    notes = compare.notes(df)
    failure = next(n for n in notes if "failure_ratio" in n)
    assert failure.startswith(MISSING) and "(2 trace(s))" in failure
    assert any(n.startswith(f"{MISSING} in iat_cv (1 trace(s))") for n in notes)
    assert "over the rows whose final status is known" in compare.CAPTION
    # no result: every analysis column empty; the duration median comes from the lake
    (empty,) = compare.headline_rows(db, {"google_2011_jobs": compare.TraceResults()})
    assert (empty.events, empty.failure_ratio, empty.hurst, empty.input_p50) == (None,) * 4
    full = {r.trace: r for r in compare.headline_rows(db, results)}
    assert empty.duration_p50_s == full["google_2011_jobs"].duration_p50_s is not None
