-- Seconds between consecutive requests (turns) of the same session: count, mean, quantiles
-- (linear interpolation between order statistics, from the value counts and their running
-- sum, as in tokens_ratio.sql: it spills to disk where PERCENTILE_CONT would not). The mean
-- sums DECIMALs (microseconds are exact) so it does not depend on thread order.
WITH turns AS (
    SELECT session, EXTRACT(EPOCH FROM ts) AS t
    FROM requests
    WHERE trace = $trace AND session IS NOT NULL AND ts IS NOT NULL
),
gaps AS (
    SELECT t - LAG(t) OVER (PARTITION BY session ORDER BY t) AS gap
    FROM turns
),
counted AS (
    SELECT gap AS x, COUNT(*) AS c, SUM(CAST(gap AS DECIMAL(38, 6))) AS s
    FROM gaps
    WHERE gap IS NOT NULL
    GROUP BY gap
),
ranked AS (
    SELECT
        x,
        c,
        s,
        CAST(SUM(c) OVER (ORDER BY x ROWS UNBOUNDED PRECEDING) - c AS DOUBLE) AS first_r,
        CAST(SUM(c) OVER (ORDER BY x ROWS UNBOUNDED PRECEDING) - 1 AS DOUBLE) AS last_r,
        CAST(SUM(c) OVER () - 1 AS DOUBLE) AS m
    FROM counted
),
picked AS (
    SELECT
        COALESCE(CAST(SUM(c) AS BIGINT), 0) AS n,
        SUM(s) AS total,
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
)
SELECT
    n,
    -- DOUBLE before dividing, as DuckDB does: Spark would divide DECIMALs at a fixed scale
    CAST(total AS DOUBLE) / n AS mean,
    lo10 + (m * 0.10 - FLOOR(m * 0.10)) * (hi10 - lo10) AS p10,
    lo25 + (m * 0.25 - FLOOR(m * 0.25)) * (hi25 - lo25) AS p25,
    lo50 + (m * 0.50 - FLOOR(m * 0.50)) * (hi50 - lo50) AS p50,
    lo75 + (m * 0.75 - FLOOR(m * 0.75)) * (hi75 - lo75) AS p75,
    lo90 + (m * 0.90 - FLOOR(m * 0.90)) * (hi90 - lo90) AS p90,
    lo99 + (m * 0.99 - FLOOR(m * 0.99)) * (hi99 - lo99) AS p99
FROM picked
