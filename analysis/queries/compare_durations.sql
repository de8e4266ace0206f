-- Median duration per trace: request durations, else job run times (seconds).
SELECT trace, percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS duration_p50_s
FROM (
    SELECT trace, duration_s AS d FROM requests WHERE duration_s IS NOT NULL
    UNION ALL
    SELECT trace, run_s AS d FROM jobs WHERE run_s IS NOT NULL
) AS durations
GROUP BY trace
ORDER BY trace
