-- Output/input ratio of finished requests with a non-empty prompt: quantiles (linear
-- interpolation, as numpy's default) and mean. The mean sums DECIMALs: exact, so the same
-- whatever order parallel threads add rows in.
WITH r AS (
    SELECT CAST(output_tokens AS DOUBLE) / input_tokens AS ratio
    FROM requests
    WHERE trace = $trace AND input_tokens > 0 AND output_tokens IS NOT NULL
      AND status NOT IN ('failed', 'cancelled', 'timeout', 'killed', 'evicted')
)
SELECT
    COUNT(*) AS n,
    -- DOUBLE before dividing, as DuckDB does: Spark would divide DECIMALs at a fixed scale
    CAST(SUM(CAST(ratio AS DECIMAL(38, 18))) AS DOUBLE) / COUNT(*) AS mean,
    PERCENTILE_CONT(0.1) WITHIN GROUP (ORDER BY ratio) AS p10,
    PERCENTILE_CONT(0.25) WITHIN GROUP (ORDER BY ratio) AS p25,
    PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY ratio) AS p50,
    PERCENTILE_CONT(0.75) WITHIN GROUP (ORDER BY ratio) AS p75,
    PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY ratio) AS p90,
    PERCENTILE_CONT(0.99) WITHIN GROUP (ORDER BY ratio) AS p99
FROM r
