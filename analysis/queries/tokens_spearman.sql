-- Sums for Spearman's rank correlation of input and output lengths of finished requests:
-- Pearson's correlation of average ranks (ties share the mean of their ranks, as scipy does).
-- Ranks come from the value counts of each side, so no sort over all rows is needed. Ranks are
-- doubled to stay integers and summed exactly as DECIMAL, so the result does not depend on the
-- order in which parallel threads add them up.
WITH base AS (
    SELECT input_tokens AS x, output_tokens AS y
    FROM requests
    WHERE trace = $trace AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL
      AND status NOT IN ('failed', 'cancelled', 'timeout', 'killed', 'evicted')
),
x_counts AS (SELECT x, COUNT(*) AS c FROM base GROUP BY x),
x_ranks AS (
    SELECT x, 2 * SUM(c) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
              - (c - 1) AS r2
    FROM x_counts
),
y_counts AS (SELECT y, COUNT(*) AS c FROM base GROUP BY y),
y_ranks AS (
    SELECT y, 2 * SUM(c) OVER (ORDER BY y ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
              - (c - 1) AS r2
    FROM y_counts
),
pairs AS (
    SELECT CAST(x_ranks.r2 AS DECIMAL(38, 0)) AS a, CAST(y_ranks.r2 AS DECIMAL(38, 0)) AS b
    FROM base
    JOIN x_ranks ON base.x = x_ranks.x
    JOIN y_ranks ON base.y = y_ranks.y
)
SELECT
    COUNT(*) AS n,
    SUM(a) AS sum_a,
    SUM(b) AS sum_b,
    SUM(a * a) AS sum_aa,
    SUM(b * b) AS sum_bb,
    SUM(a * b) AS sum_ab
FROM pairs
