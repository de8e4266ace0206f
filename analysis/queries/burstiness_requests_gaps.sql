-- Every $step-th gap (s) between consecutive arrivals of one trace's requests (requests.ts),
-- in arrival order: a deterministic systematic sample for distribution fits.
-- $service and $tenant: one group only (NULL = all).
WITH arrivals AS (
    SELECT EXTRACT(EPOCH FROM ts) AS t
    FROM requests
    WHERE trace = $trace AND ts IS NOT NULL
        AND ($service IS NULL OR service = $service)
        AND ($tenant IS NULL OR tenant = $tenant)
), gaps AS (
    SELECT t - LAG(t) OVER (ORDER BY t) AS gap,
           ROW_NUMBER() OVER (ORDER BY t) AS rn
    FROM arrivals
)
SELECT gap
FROM gaps
WHERE gap IS NOT NULL AND MOD(rn, $step) = 0
ORDER BY rn
