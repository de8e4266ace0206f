-- Durations per trace, as (grp, part, x) rows for quantiles.sql: request durations, else job
-- run times (seconds); grp is the trace.
SELECT trace AS grp, '' AS part, duration_s AS x FROM requests WHERE duration_s IS NOT NULL
UNION ALL
SELECT trace AS grp, '' AS part, run_s AS x FROM jobs WHERE run_s IS NOT NULL
