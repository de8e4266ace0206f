-- Seconds between consecutive requests (turns) of the same session: count, mean, quantiles.
-- The mean sums DECIMALs (microseconds are exact) so it does not depend on thread order.
WITH turns AS (
    SELECT session, EXTRACT(EPOCH FROM ts) AS t
    FROM requests
    WHERE trace = $trace AND session IS NOT NULL AND ts IS NOT NULL
),
gaps AS (
    SELECT t - LAG(t) OVER (PARTITION BY session ORDER BY t) AS gap
    FROM turns
)
SELECT
    COUNT(gap) AS n,
    -- DOUBLE before dividing, as DuckDB does: Spark would divide DECIMALs at a fixed scale
    CAST(SUM(CAST(gap AS DECIMAL(38, 6))) AS DOUBLE) / COUNT(gap) AS mean,
    PERCENTILE_CONT(0.1) WITHIN GROUP (ORDER BY gap) AS p10,
    PERCENTILE_CONT(0.25) WITHIN GROUP (ORDER BY gap) AS p25,
    PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY gap) AS p50,
    PERCENTILE_CONT(0.75) WITHIN GROUP (ORDER BY gap) AS p75,
    PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY gap) AS p90,
    PERCENTILE_CONT(0.99) WITHIN GROUP (ORDER BY gap) AS p99
FROM gaps
WHERE gap IS NOT NULL
