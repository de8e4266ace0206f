-- Jobs of one trace per group and final status: rows, and run, GPU and CPU hours.
-- $dim picks the grouping: all, job_type, tenant, cluster, num_gpus, num_cpus or hour.
-- Sizes fall into log-$base buckets numbered 0 (none), 1 ((0, 1]), k ((base^(k-2), base^(k-1)]);
-- hour is the UTC hour of day of submission (else start, else end). Groups beyond the $top
-- largest fold into '(other)' ($top <= 0 keeps all); a NULL group is '(unknown)'.
WITH base AS (
    SELECT
        status,
        run_s,
        num_gpus,
        num_cpus,
        CASE $dim
            WHEN 'all' THEN 'all'
            WHEN 'job_type' THEN job_type
            WHEN 'tenant' THEN tenant
            WHEN 'cluster' THEN cluster
            WHEN 'num_gpus' THEN CAST(
                CASE
                    WHEN num_gpus IS NULL THEN NULL
                    WHEN num_gpus <= 0 THEN 0
                    WHEN num_gpus <= 1 THEN 1
                    -- the epsilon keeps exact powers (ln 4 / ln 2) in their own bucket
                    ELSE CAST(CEIL(LN(num_gpus) / LN($base) - 1e-9) AS INTEGER) + 1
                END AS VARCHAR)
            WHEN 'num_cpus' THEN CAST(
                CASE
                    WHEN num_cpus IS NULL THEN NULL
                    WHEN num_cpus <= 0 THEN 0
                    WHEN num_cpus <= 1 THEN 1
                    ELSE CAST(CEIL(LN(num_cpus) / LN($base) - 1e-9) AS INTEGER) + 1
                END AS VARCHAR)
            WHEN 'hour' THEN CAST(EXTRACT(HOUR FROM COALESCE(submit_ts, start_ts, end_ts)) AS VARCHAR)
        END AS grp
    FROM jobs
    WHERE trace = $trace
),
ranked AS (
    SELECT grp, ROW_NUMBER() OVER (ORDER BY COUNT(*) DESC, grp) AS rk
    FROM base
    WHERE grp IS NOT NULL
    GROUP BY grp
),
labelled AS (
    SELECT
        CASE
            WHEN b.grp IS NULL THEN '(unknown)'
            WHEN $top <= 0 OR r.rk <= $top THEN b.grp
            ELSE '(other)'
        END AS grp,
        b.status,
        b.run_s,
        b.num_gpus,
        b.num_cpus
    FROM base AS b
    LEFT JOIN ranked AS r ON r.grp = b.grp
)
SELECT
    grp,
    status,
    COUNT(*) AS n,
    COUNT(run_s) AS n_timed,
    SUM(run_s) / 3600.0 AS run_hours,
    SUM(run_s * num_gpus) / 3600.0 AS gpu_hours,
    SUM(run_s * num_cpus) / 3600.0 AS cpu_hours
FROM labelled
GROUP BY grp, status
ORDER BY grp, status
