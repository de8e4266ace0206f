-- Median duration per trace: request durations, else job run times (seconds). The median
-- interpolates between the middle order statistics, found from value counts and their running
-- sum per trace (spills to disk; PERCENTILE_CONT would hold all durations in memory).
WITH durations AS (
    SELECT trace, duration_s AS d FROM requests WHERE duration_s IS NOT NULL
    UNION ALL
    SELECT trace, run_s AS d FROM jobs WHERE run_s IS NOT NULL
),
counted AS (
    SELECT trace, d AS x, COUNT(*) AS c FROM durations GROUP BY trace, d
),
ranked AS (
    SELECT
        trace,
        x,
        CAST(SUM(c) OVER (PARTITION BY trace ORDER BY x ROWS UNBOUNDED PRECEDING) - c AS DOUBLE)
            AS first_r,
        CAST(SUM(c) OVER (PARTITION BY trace ORDER BY x ROWS UNBOUNDED PRECEDING) - 1 AS DOUBLE)
            AS last_r,
        CAST(SUM(c) OVER (PARTITION BY trace) - 1 AS DOUBLE) AS m
    FROM counted
),
picked AS (
    SELECT
        trace,
        MAX(m) AS m,
        MAX(CASE WHEN FLOOR(m * 0.50) BETWEEN first_r AND last_r THEN x END) AS lo50,
        MAX(CASE WHEN CEIL(m * 0.50) BETWEEN first_r AND last_r THEN x END) AS hi50
    FROM ranked
    GROUP BY trace
)
SELECT trace, lo50 + (m * 0.50 - FLOOR(m * 0.50)) * (hi50 - lo50) AS duration_p50_s
FROM picked
ORDER BY trace
