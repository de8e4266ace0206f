-- Output length of finished requests by input length, in half-octave input bins (bin k holds
-- inputs in [2^(k/2), 2^((k+1)/2))): a few dozen rows that show how output follows input.
-- The median and p90 interpolate between order statistics found from the value counts of
-- (bin, output) and their running sum per bin: a small GROUP BY that spills, where
-- PERCENTILE_CONT would keep every row of a bin in memory.
WITH finished AS (
    SELECT
        FLOOR(2 * LN(input_tokens) / LN(2) + 1e-9) AS bin,
        input_tokens,
        output_tokens
    FROM requests
    WHERE trace = $trace AND input_tokens > 0 AND output_tokens IS NOT NULL
      AND status NOT IN ('failed', 'cancelled', 'timeout', 'killed', 'evicted')
),
counted AS (
    SELECT
        bin,
        output_tokens AS x,
        COUNT(*) AS c,
        MIN(input_tokens) AS input_min,
        MAX(input_tokens) AS input_max,
        SUM(output_tokens) AS s
    FROM finished
    GROUP BY bin, output_tokens
),
ranked AS (
    SELECT
        bin,
        x,
        c,
        s,
        input_min,
        input_max,
        CAST(SUM(c) OVER (PARTITION BY bin ORDER BY x ROWS UNBOUNDED PRECEDING) - c AS DOUBLE)
            AS first_r,
        CAST(SUM(c) OVER (PARTITION BY bin ORDER BY x ROWS UNBOUNDED PRECEDING) - 1 AS DOUBLE)
            AS last_r,
        CAST(SUM(c) OVER (PARTITION BY bin) - 1 AS DOUBLE) AS m
    FROM counted
),
picked AS (
    SELECT
        bin,
        CAST(SUM(c) AS BIGINT) AS n,
        MIN(input_min) AS input_min,
        MAX(input_max) AS input_max,
        SUM(s) AS total,
        MAX(m) AS m,
        MAX(CASE WHEN FLOOR(m * 0.50) BETWEEN first_r AND last_r THEN x END) AS lo50,
        MAX(CASE WHEN CEIL(m * 0.50) BETWEEN first_r AND last_r THEN x END) AS hi50,
        MAX(CASE WHEN FLOOR(m * 0.90) BETWEEN first_r AND last_r THEN x END) AS lo90,
        MAX(CASE WHEN CEIL(m * 0.90) BETWEEN first_r AND last_r THEN x END) AS hi90
    FROM ranked
    GROUP BY bin
)
SELECT
    bin,
    n,
    input_min,
    input_max,
    CAST(total AS DOUBLE) / n AS output_mean,
    lo50 + (m * 0.50 - FLOOR(m * 0.50)) * (hi50 - lo50) AS output_p50,
    lo90 + (m * 0.90 - FLOOR(m * 0.90)) * (hi90 - lo90) AS output_p90
FROM picked
ORDER BY bin
