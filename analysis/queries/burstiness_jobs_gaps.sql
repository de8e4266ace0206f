-- Every $step-th gap (s) between consecutive arrivals of one trace's jobs (jobs.submit_ts),
-- in arrival order: a deterministic systematic sample for distribution fits.
-- $tenant and $job_type: one group only (NULL = all).
WITH arrivals AS (
    SELECT EXTRACT(EPOCH FROM submit_ts) AS t
    FROM jobs
    WHERE trace = $trace AND submit_ts IS NOT NULL
        AND ($tenant IS NULL OR tenant = $tenant)
        AND ($job_type IS NULL OR job_type = $job_type)
), gaps AS (
    SELECT t - LAG(t) OVER (ORDER BY t) AS gap,
           ROW_NUMBER() OVER (ORDER BY t) AS rn
    FROM arrivals
)
SELECT gap
FROM gaps
WHERE gap IS NOT NULL AND MOD(rn, $step) = 0
ORDER BY rn
