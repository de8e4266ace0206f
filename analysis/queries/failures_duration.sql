-- Duration (requests.duration_s, jobs.run_s) per final status of one trace from $source
-- (requests or jobs, in the arrivals view), and pooled over the unsuccessful statuses (failed,
-- cancelled, timeout, killed, evicted): the time to failure. Quantiles interpolate linearly
-- between order statistics (as PERCENTILE_CONT does), found from the value counts and their
-- running sum: a GROUP BY and a sort of distinct values, both of which spill to disk, where
-- PERCENTILE_CONT keeps every row in memory.
WITH base AS (
    SELECT status, duration_s AS x
    FROM arrivals
    WHERE source = $source AND trace = $trace AND duration_s IS NOT NULL
),
tagged AS (
    SELECT status AS grp, x FROM base
    UNION ALL
    SELECT 'unsuccessful' AS grp, x
    FROM base
    WHERE status IN ('failed', 'cancelled', 'timeout', 'killed', 'evicted')
),
counted AS (
    SELECT grp, x, COUNT(*) AS c, SUM(x) AS s FROM tagged GROUP BY grp, x
),
ranked AS (
    SELECT
        grp,
        x,
        c,
        s,
        CAST(SUM(c) OVER (PARTITION BY grp ORDER BY x ROWS UNBOUNDED PRECEDING) - c AS DOUBLE)
            AS first_r,
        CAST(SUM(c) OVER (PARTITION BY grp ORDER BY x ROWS UNBOUNDED PRECEDING) - 1 AS DOUBLE)
            AS last_r,
        CAST(SUM(c) OVER (PARTITION BY grp) - 1 AS DOUBLE) AS m
    FROM counted
),
picked AS (
    SELECT
        grp,
        CAST(SUM(c) AS BIGINT) AS n,
        SUM(s) / SUM(c) AS mean_s,
        MAX(x) AS max_s,
        MAX(m) AS m,
        MAX(CASE WHEN FLOOR(m * 0.10) BETWEEN first_r AND last_r THEN x END) AS lo10,
        MAX(CASE WHEN CEIL(m * 0.10) BETWEEN first_r AND last_r THEN x END) AS hi10,
        MAX(CASE WHEN FLOOR(m * 0.25) BETWEEN first_r AND last_r THEN x END) AS lo25,
        MAX(CASE WHEN CEIL(m * 0.25) BETWEEN first_r AND last_r THEN x END) AS hi25,
        MAX(CASE WHEN FLOOR(m * 0.50) BETWEEN first_r AND last_r THEN x END) AS lo50,
        MAX(CASE WHEN CEIL(m * 0.50) BETWEEN first_r AND last_r THEN x END) AS hi50,
        MAX(CASE WHEN FLOOR(m * 0.75) BETWEEN first_r AND last_r THEN x END) AS lo75,
        MAX(CASE WHEN CEIL(m * 0.75) BETWEEN first_r AND last_r THEN x END) AS hi75,
        MAX(CASE WHEN FLOOR(m * 0.90) BETWEEN first_r AND last_r THEN x END) AS lo90,
        MAX(CASE WHEN CEIL(m * 0.90) BETWEEN first_r AND last_r THEN x END) AS hi90,
        MAX(CASE WHEN FLOOR(m * 0.99) BETWEEN first_r AND last_r THEN x END) AS lo99,
        MAX(CASE WHEN CEIL(m * 0.99) BETWEEN first_r AND last_r THEN x END) AS hi99
    FROM ranked
    GROUP BY grp
)
SELECT
    grp,
    n,
    mean_s,
    lo10 + (m * 0.10 - FLOOR(m * 0.10)) * (hi10 - lo10) AS p10_s,
    lo25 + (m * 0.25 - FLOOR(m * 0.25)) * (hi25 - lo25) AS p25_s,
    lo50 + (m * 0.50 - FLOOR(m * 0.50)) * (hi50 - lo50) AS p50_s,
    lo75 + (m * 0.75 - FLOOR(m * 0.75)) * (hi75 - lo75) AS p75_s,
    lo90 + (m * 0.90 - FLOOR(m * 0.90)) * (hi90 - lo90) AS p90_s,
    lo99 + (m * 0.99 - FLOOR(m * 0.99)) * (hi99 - lo99) AS p99_s,
    max_s
FROM picked
ORDER BY grp
