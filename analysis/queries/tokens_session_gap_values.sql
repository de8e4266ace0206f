-- Seconds between consecutive requests (turns) of the same session, as (grp, part, x) rows for
-- quantiles.sql (count, exact mean, quantiles).
WITH turns AS (
    SELECT session, EXTRACT(EPOCH FROM ts) AS t
    FROM requests
    WHERE trace = $trace AND session IS NOT NULL AND ts IS NOT NULL
),
gaps AS (
    SELECT t - LAG(t) OVER (PARTITION BY session ORDER BY t) AS gap
    FROM turns
)
SELECT 'all' AS grp, '' AS part, gap AS x
FROM gaps
WHERE gap IS NOT NULL
