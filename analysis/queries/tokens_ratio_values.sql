-- Output/input ratio of finished requests with a non-empty prompt, as (grp, part, x) rows for
-- quantiles.sql (count, exact mean, quantiles).
SELECT 'all' AS grp, '' AS part, CAST(output_tokens AS DOUBLE) / input_tokens AS x
FROM requests
WHERE trace = $trace AND input_tokens > 0 AND output_tokens IS NOT NULL
  AND status NOT IN ('failed', 'cancelled', 'timeout', 'killed', 'evicted')
