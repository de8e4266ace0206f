-- Fragment, included in a CTE after a CTE `base` with a column t (epoch seconds): bin_s, the
-- shortest of 1 min .. 1 week that cuts t's span into at most $max_bins bins.
WITH span AS (
    SELECT MIN(t) AS t0, MAX(t) AS t1 FROM base
),
widths AS (
    SELECT CAST(w AS DOUBLE) AS w
    FROM (VALUES (60.0), (300.0), (900.0), (3600.0), (21600.0), (86400.0), (604800.0)) AS v (w)
)
SELECT COALESCE(MIN(w), CAST(604800 AS DOUBLE)) AS bin_s
FROM widths CROSS JOIN span
WHERE (t1 - t0) / w <= $max_bins
