-- Recorded cold starts of one trace per group: counts and the mean total time and mean of each
-- phase (pod allocation, code deployment, dependency deployment, scheduling). $dim picks the
-- grouping: all, region, runtime or trigger; a NULL group is '(unknown)'.
WITH base AS (
    {{_coldstart_groups}}
)
SELECT
    grp,
    COUNT(*) AS n,
    COUNT(DISTINCT service) AS functions,
    COUNT(DISTINCT pod_id) AS pods,
    AVG(total_s) AS mean_s,
    MAX(total_s) AS max_s,
    AVG(pod_alloc_s) AS pod_alloc_mean_s,
    AVG(code_deploy_s) AS code_deploy_mean_s,
    AVG(deps_deploy_s) AS deps_deploy_mean_s,
    AVG(scheduling_s) AS scheduling_mean_s
FROM base
GROUP BY grp
ORDER BY n DESC, grp
