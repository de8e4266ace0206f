"""The views LakeDB defines over several tables (analysis/queries/view_*.sql)."""

from __future__ import annotations

from analysis.db import LakeDB


def test_arrivals_hold_every_request_and_job(db: LakeDB) -> None:
    for trace, table in (("azure_llm_2023_conv", "requests"), ("google_2011_tasks", "jobs")):
        rows = db.scalar(f"SELECT COUNT(*) FROM {table} WHERE trace = $trace", trace=trace)
        assert rows
        for source in ("requests", "jobs"):
            n = db.scalar(
                "SELECT COUNT(*) FROM arrivals WHERE source = $source AND trace = $trace",
                source=source,
                trace=trace,
            )
            assert n == (rows if source == table else 0), (trace, source)


def test_arrivals_rename_the_columns_of_jobs(db: LakeDB) -> None:
    view = db.sql(
        """SELECT COUNT(arrival_ts) AS arrivals, COUNT(event_ts) AS timed,
                  ROUND(SUM(duration_s), 3) AS s,
                  COUNT(service) + COUNT(kind) + COUNT(input_tokens) AS foreign_
           FROM arrivals WHERE source = 'jobs' AND trace = $trace""",
        trace="google_2011_tasks",
    )
    table = db.sql(
        """SELECT COUNT(submit_ts) AS arrivals,
                  COUNT(COALESCE(submit_ts, start_ts, end_ts)) AS timed, ROUND(SUM(run_s), 3) AS s,
                  0 AS foreign_
           FROM jobs WHERE trace = $trace""",
        trace="google_2011_tasks",
    )
    assert view.row(0) == table.row(0)
