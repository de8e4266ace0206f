-- Per timed request: input and output tokens and duration, in arrival order. Outputs of
-- unfinished requests are NULL: their zero or truncated outputs are not generation lengths
-- (as in analysis/queries/tokens_lengths.sql).
SELECT
    CAST(input_tokens AS DOUBLE) AS input_tokens,
    CASE
        WHEN status IN ('failed', 'cancelled', 'timeout', 'killed', 'evicted') THEN NULL
        ELSE CAST(output_tokens AS DOUBLE)
    END AS output_tokens,
    duration_s
FROM requests
WHERE trace = $trace AND ts IS NOT NULL
ORDER BY ts
