-- Quantiles (p50, p90, p99) of the recorded cold-start total time and of each phase, per group
-- of $dim (all, region, runtime or trigger; NULL is '(unknown)'), one row per group and part
-- (total, pod_alloc, code_deploy, deps_deploy, scheduling). Quantiles interpolate linearly
-- between order statistics, as PERCENTILE_CONT does, from the value counts and their running
-- sum, which spill to disk (see failures_duration.sql).
WITH base AS (
    SELECT
        COALESCE(
            CASE $dim
                WHEN 'all' THEN 'all'
                WHEN 'region' THEN region
                WHEN 'runtime' THEN runtime
                WHEN 'trigger' THEN trigger
            END,
            '(unknown)'
        ) AS grp,
        total_s,
        pod_alloc_s,
        code_deploy_s,
        deps_deploy_s,
        scheduling_s
    FROM cold_starts
    WHERE trace = $trace
),
parts AS (
    SELECT grp, 'total' AS part, total_s AS x FROM base WHERE total_s IS NOT NULL
    UNION ALL
    SELECT grp, 'pod_alloc', pod_alloc_s FROM base WHERE pod_alloc_s IS NOT NULL
    UNION ALL
    SELECT grp, 'code_deploy', code_deploy_s FROM base WHERE code_deploy_s IS NOT NULL
    UNION ALL
    SELECT grp, 'deps_deploy', deps_deploy_s FROM base WHERE deps_deploy_s IS NOT NULL
    UNION ALL
    SELECT grp, 'scheduling', scheduling_s FROM base WHERE scheduling_s IS NOT NULL
),
counted AS (
    SELECT grp, part, x, COUNT(*) AS c FROM parts GROUP BY grp, part, x
),
ranked AS (
    SELECT
        grp,
        part,
        x,
        CAST(
            SUM(c) OVER (PARTITION BY grp, part ORDER BY x ROWS UNBOUNDED PRECEDING) - c
            AS DOUBLE
        ) AS first_r,
        CAST(
            SUM(c) OVER (PARTITION BY grp, part ORDER BY x ROWS UNBOUNDED PRECEDING) - 1
            AS DOUBLE
        ) AS last_r,
        CAST(SUM(c) OVER (PARTITION BY grp, part) - 1 AS DOUBLE) AS m
    FROM counted
),
picked AS (
    SELECT
        grp,
        part,
        MAX(m) AS m,
        MAX(CASE WHEN FLOOR(m * 0.50) BETWEEN first_r AND last_r THEN x END) AS lo50,
        MAX(CASE WHEN CEIL(m * 0.50) BETWEEN first_r AND last_r THEN x END) AS hi50,
        MAX(CASE WHEN FLOOR(m * 0.90) BETWEEN first_r AND last_r THEN x END) AS lo90,
        MAX(CASE WHEN CEIL(m * 0.90) BETWEEN first_r AND last_r THEN x END) AS hi90,
        MAX(CASE WHEN FLOOR(m * 0.99) BETWEEN first_r AND last_r THEN x END) AS lo99,
        MAX(CASE WHEN CEIL(m * 0.99) BETWEEN first_r AND last_r THEN x END) AS hi99
    FROM ranked
    GROUP BY grp, part
)
SELECT
    grp,
    part,
    lo50 + (m * 0.50 - FLOOR(m * 0.50)) * (hi50 - lo50) AS p50_s,
    lo90 + (m * 0.90 - FLOOR(m * 0.90)) * (hi90 - lo90) AS p90_s,
    lo99 + (m * 0.99 - FLOOR(m * 0.99)) * (hi99 - lo99) AS p99_s
FROM picked
ORDER BY grp, part
