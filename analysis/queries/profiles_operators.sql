-- Operator time against batch size in one trace's GPU operator profiles (Vidur: measurements
-- whose extra holds num_tokens, the tokens of one batch iteration; metrics min/max/mean/median/
-- std of one call, in seconds). Per subject (GPU/model/TP degree) and operator: the points
-- profiled (repeated configurations are averaged), the median call time at the fewest and the
-- most tokens, the largest batch whose time stays within $flat times the smallest batch's (the
-- memory-bound regime, where tokens come almost free), the least-squares slope over the upper
-- half of the token range (seconds per token once compute-bound), R^2 of a line over every
-- point, and the mean std/mean of the repeated calls (how noisy the timing is).
WITH points AS (
    SELECT
        subject,
        sku,
        benchmark AS operator,
        CAST(extra ->> 'num_tokens' AS BIGINT) AS tokens,
        AVG(CASE WHEN metric = 'median' THEN value END) AS t,
        AVG(CASE WHEN metric = 'std' THEN value END)
            / AVG(CASE WHEN metric = 'mean' THEN value END) AS cv
    FROM measurements
    WHERE trace = $trace AND extra ->> 'num_tokens' IS NOT NULL
    GROUP BY subject, sku, benchmark, CAST(extra ->> 'num_tokens' AS BIGINT)
),
ranged AS (
    SELECT
        subject,
        sku,
        operator,
        tokens,
        t,
        cv,
        MAX(tokens) OVER (PARTITION BY subject, operator) AS hi,
        FIRST_VALUE(t) OVER (PARTITION BY subject, operator ORDER BY tokens) AS t_lo
    FROM points
    WHERE t IS NOT NULL
)
SELECT
    subject,
    MAX(sku) AS sku,
    operator,
    COUNT(*) AS points,
    MIN(tokens) AS tokens_min,
    MAX(tokens) AS tokens_max,
    MIN_BY(t, tokens) AS t_at_min,
    MAX_BY(t, tokens) AS t_at_max,
    MAX(CASE WHEN t <= $flat * t_lo THEN tokens END) AS flat_until,
    REGR_SLOPE(
        CASE WHEN tokens * 2 >= hi THEN t END, CASE WHEN tokens * 2 >= hi THEN tokens END
    ) AS slope_s_per_token,
    REGR_R2(t, tokens) AS r2,
    AVG(cv) AS cv_mean
FROM ranged
GROUP BY subject, operator
ORDER BY subject, operator
