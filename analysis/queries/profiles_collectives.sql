-- Collective communication time against message size in one trace's profiles (Vidur network
-- profiles: measurements whose extra holds size, in bytes). Per subject (node setup and
-- workers) and collective: points profiled (repeats averaged), the median time at the smallest
-- and the largest message (a latency floor and a bandwidth), and the least-squares slope over the
-- upper half of the size range (seconds per byte once bandwidth-bound).
WITH points AS (
    SELECT
        subject,
        sku,
        benchmark AS collective,
        CAST(extra ->> 'size' AS BIGINT) AS size,
        AVG(CASE WHEN metric = 'median' THEN value END) AS t
    FROM measurements
    WHERE trace = $trace AND extra ->> 'size' IS NOT NULL
    GROUP BY subject, sku, benchmark, CAST(extra ->> 'size' AS BIGINT)
),
ranged AS (
    SELECT subject, sku, collective, size, t, MAX(size) OVER (PARTITION BY subject, collective) AS hi
    FROM points
    WHERE t IS NOT NULL
)
SELECT
    subject,
    MAX(sku) AS sku,
    collective,
    COUNT(*) AS points,
    MIN(size) AS size_min,
    MAX(size) AS size_max,
    MIN_BY(t, size) AS t_at_min,
    MAX_BY(t, size) AS t_at_max,
    REGR_SLOPE(CASE WHEN size * 2 >= hi THEN t END, CASE WHEN size * 2 >= hi THEN size END)
        AS slope_s_per_byte
FROM ranged
GROUP BY subject, collective
ORDER BY subject, collective
