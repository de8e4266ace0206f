-- Output length of finished requests by input length, in half-octave input bins (bin k holds
-- inputs in [2^(k/2), 2^((k+1)/2))): a few dozen rows that show how output follows input.
SELECT
    FLOOR(2 * LN(input_tokens) / LN(2) + 1e-9) AS bin,
    COUNT(*) AS n,
    MIN(input_tokens) AS input_min,
    MAX(input_tokens) AS input_max,
    AVG(output_tokens) AS output_mean,
    PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY output_tokens) AS output_p50,
    PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY output_tokens) AS output_p90
FROM requests
WHERE trace = $trace AND input_tokens > 0 AND output_tokens IS NOT NULL
  AND status NOT IN ('failed', 'cancelled', 'timeout', 'killed', 'evicted')
GROUP BY FLOOR(2 * LN(input_tokens) / LN(2) + 1e-9)
ORDER BY bin
