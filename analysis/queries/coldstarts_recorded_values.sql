-- The recorded cold-start total time and each phase, per group of $dim (all, region, runtime or
-- trigger; NULL is '(unknown)') and part (total, pod_alloc, code_deploy, deps_deploy,
-- scheduling), as (grp, part, x) rows for quantiles.sql.
WITH base AS (
    {{_coldstart_groups}}
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
)
SELECT grp, part, x FROM parts
