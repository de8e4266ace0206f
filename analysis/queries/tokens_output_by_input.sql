-- Output length of finished requests by input length, in half-octave input bins (bin k holds
-- inputs in [2^(k/2), 2^((k+1)/2))): a few dozen rows that show how output follows input.
-- Quantiles of output per bin come from tokens_output_by_input_values.sql.
SELECT
    FLOOR(2 * LN(input_tokens) / LN(2) + 1e-9) AS bin,
    COUNT(*) AS n,
    MIN(input_tokens) AS input_min,
    MAX(input_tokens) AS input_max,
    -- an exact integer sum: the same mean whatever order threads add rows in
    CAST(SUM(output_tokens) AS DOUBLE) / COUNT(*) AS output_mean
FROM requests
WHERE trace = $trace AND input_tokens > 0 AND output_tokens IS NOT NULL
  AND status NOT IN ('failed', 'cancelled', 'timeout', 'killed', 'evicted')
GROUP BY FLOOR(2 * LN(input_tokens) / LN(2) + 1e-9)
ORDER BY bin
