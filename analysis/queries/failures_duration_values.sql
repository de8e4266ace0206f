-- Duration (requests.duration_s, jobs.run_s) per final status of one trace from $source
-- (requests or jobs, in the arrivals view), and pooled over the unsuccessful statuses (failed,
-- cancelled, timeout, killed, evicted) as 'unsuccessful': the time to failure. (grp, part, x)
-- rows for quantiles.sql.
WITH base AS (
    SELECT status, duration_s AS x
    FROM arrivals
    WHERE source = $source AND trace = $trace AND duration_s IS NOT NULL
)
SELECT status AS grp, '' AS part, x FROM base
UNION ALL
SELECT 'unsuccessful' AS grp, '' AS part, x
FROM base
WHERE status IN ('failed', 'cancelled', 'timeout', 'killed', 'evicted')
