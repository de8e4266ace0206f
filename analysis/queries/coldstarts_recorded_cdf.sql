-- About $points evenly spaced order statistics of the recorded cold-start total time of one
-- trace (every k-th value in sorted order, plus the smallest and the largest), for a CDF plot.
WITH to_rank AS (
    SELECT total_s AS x
    FROM cold_starts
    WHERE trace = $trace AND total_s IS NOT NULL
),
ranked AS (
    {{_ranked}}
),
total AS (
    SELECT COUNT(*) AS n FROM to_rank
)
SELECT r.x AS total_s, CAST(r.rn AS DOUBLE) / t.n AS cdf
FROM ranked AS r
CROSS JOIN total AS t
WHERE r.rn = 1 OR r.rn = t.n OR MOD(r.rn, CAST(CEIL(CAST(t.n AS DOUBLE) / $points) AS BIGINT)) = 0
ORDER BY r.rn
