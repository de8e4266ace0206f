-- Every $step-th gap (s) between consecutive arrivals of one trace from $source (requests or
-- jobs, in the arrivals view), in arrival order: a deterministic systematic sample for
-- distribution fits. $service, $tenant and $job_type: one group only (NULL = all).
WITH to_rank AS (
    SELECT EXTRACT(EPOCH FROM arrival_ts) AS x
    FROM arrivals
    WHERE source = $source AND trace = $trace AND arrival_ts IS NOT NULL
        AND ($service IS NULL OR service = $service)
        AND ($tenant IS NULL OR tenant = $tenant)
        AND ($job_type IS NULL OR job_type = $job_type)
),
ranked AS (
    {{_ranked}}
)
SELECT x - prev_x AS gap
FROM ranked
WHERE prev_x IS NOT NULL AND MOD(rn, $step) = 0
ORDER BY rn
