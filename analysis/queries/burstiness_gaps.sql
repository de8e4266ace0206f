-- Every $step-th gap (s) between consecutive arrivals of one trace from $source (requests or
-- jobs, in the arrivals view), in arrival order: a deterministic systematic sample for
-- distribution fits. $service, $tenant and $job_type: one group only (NULL = all).
WITH to_rank AS (
    SELECT t AS x
    FROM (
        {{_arrival_times}}
    ) AS arrival_times
),
ranked AS (
    {{_ranked}}
)
SELECT x - prev_x AS gap
FROM ranked
WHERE prev_x IS NOT NULL AND MOD(rn, $step) = 0
ORDER BY rn
