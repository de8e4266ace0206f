-- About $points evenly spaced order statistics of the recorded cold-start total time of one
-- trace (every k-th value in sorted order, plus the smallest and the largest), for a CDF plot.
WITH ranked AS (
    SELECT
        total_s,
        ROW_NUMBER() OVER (ORDER BY total_s) AS rn,
        COUNT(*) OVER () AS n
    FROM cold_starts
    WHERE trace = $trace AND total_s IS NOT NULL
)
SELECT total_s, CAST(rn AS DOUBLE) / n AS cdf
FROM ranked
WHERE rn = 1 OR rn = n OR MOD(rn, CAST(CEIL(CAST(n AS DOUBLE) / $points) AS BIGINT)) = 0
ORDER BY rn
