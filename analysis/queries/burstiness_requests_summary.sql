-- Arrivals of one trace's requests (requests.ts): count, first and last arrival in epoch
-- seconds, and the moments of the gaps between consecutive arrivals.
-- $service and $tenant: one group only (NULL = all). $tie_s: half a clock tick; shorter
-- gaps are two arrivals read in the same tick.
WITH arrivals AS (
    SELECT EXTRACT(EPOCH FROM ts) AS t
    FROM requests
    WHERE trace = $trace AND ts IS NOT NULL
        AND ($service IS NULL OR service = $service)
        AND ($tenant IS NULL OR tenant = $tenant)
), gaps AS (
    SELECT t, t - LAG(t) OVER (ORDER BY t) AS gap
    FROM arrivals
)
SELECT COUNT(*) AS events,
       MIN(t) AS first_s,
       MAX(t) AS last_s,
       COUNT(gap) AS gaps,
       AVG(gap) AS gap_mean,
       STDDEV_SAMP(gap) AS gap_std,
       COUNT(CASE WHEN gap < $tie_s THEN 1 END) AS ties
FROM gaps
