-- Output lengths of finished requests per half-octave input bin (as tokens_output_by_input.sql),
-- as (grp, part, x) rows for quantiles.sql; grp is the bin.
SELECT
    FLOOR(2 * LN(input_tokens) / LN(2) + 1e-9) AS grp,
    '' AS part,
    CAST(output_tokens AS DOUBLE) AS x
FROM requests
WHERE trace = $trace AND input_tokens > 0 AND output_tokens IS NOT NULL
  AND status NOT IN ('failed', 'cancelled', 'timeout', 'killed', 'evicted')
