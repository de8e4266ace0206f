-- Rows of one trace from $source (requests or jobs, in the arrivals view) per group and final
-- status: rows, hours of duration (requests.duration_s, jobs.run_s), GPU and CPU hours
-- (duration x GPUs or CPUs requested; jobs) and tokens (requests).
-- $dim picks the grouping: all, a grouping column (service, tenant, kind, job_type, cluster), a
-- size column (input_tokens, num_gpus, num_cpus) or hour. Sizes fall into log-$base buckets
-- numbered 0 (none), 1 ((0, 1]), k ((base^(k-2), base^(k-1)]); hour is the UTC hour of day of
-- the row's time (arrival; for jobs else start, else end). Groups beyond the $top largest fold
-- into '(other)' ($top <= 0 keeps all); a NULL group is '(unknown)'.
WITH sized AS (
    SELECT
        *,
        CASE $dim
            WHEN 'input_tokens' THEN CAST(input_tokens AS DOUBLE)
            WHEN 'num_gpus' THEN num_gpus
            WHEN 'num_cpus' THEN num_cpus
        END AS size
    FROM arrivals
    WHERE source = $source AND trace = $trace
),
base AS (
    SELECT
        status,
        duration_s,
        input_tokens,
        output_tokens,
        num_gpus,
        num_cpus,
        CASE $dim
            WHEN 'all' THEN 'all'
            WHEN 'service' THEN service
            WHEN 'tenant' THEN tenant
            WHEN 'kind' THEN kind
            WHEN 'job_type' THEN job_type
            WHEN 'cluster' THEN cluster
            WHEN 'hour' THEN CAST(EXTRACT(HOUR FROM event_ts) AS VARCHAR)
            ELSE CAST(
                CASE
                    WHEN size IS NULL THEN NULL
                    WHEN size <= 0 THEN 0
                    WHEN size <= 1 THEN 1
                    -- the epsilon keeps exact powers (ln 4 / ln 2) in their own bucket
                    ELSE CAST(CEIL(LN(size) / LN($base) - 1e-9) AS INTEGER) + 1
                END AS VARCHAR)
        END AS grp
    FROM sized
),
-- Aggregate first, fold small groups after: the fold then touches one row per (group,
-- status), not every row, and nothing row-sized is kept for a second pass.
grouped AS (
    SELECT
        grp,
        status,
        COUNT(*) AS n,
        COUNT(duration_s) AS n_timed,
        SUM(duration_s) AS seconds,
        SUM(duration_s * num_gpus) AS gpu_seconds,
        SUM(duration_s * num_cpus) AS cpu_seconds,
        SUM(input_tokens) AS input_tokens,
        SUM(output_tokens) AS output_tokens
    FROM base
    GROUP BY grp, status
),
ranked AS (
    SELECT grp, ROW_NUMBER() OVER (ORDER BY SUM(n) DESC, grp) AS rk
    FROM grouped
    WHERE grp IS NOT NULL
    GROUP BY grp
),
labelled AS (
    SELECT
        CASE
            WHEN g.grp IS NULL THEN '(unknown)'
            WHEN $top <= 0 OR r.rk <= $top THEN g.grp
            ELSE '(other)'
        END AS grp,
        g.status,
        g.n,
        g.n_timed,
        g.seconds,
        g.gpu_seconds,
        g.cpu_seconds,
        g.input_tokens,
        g.output_tokens
    FROM grouped AS g
    LEFT JOIN ranked AS r ON r.grp = g.grp
)
SELECT
    grp,
    status,
    CAST(SUM(n) AS BIGINT) AS n,
    CAST(SUM(n_timed) AS BIGINT) AS n_timed,
    SUM(seconds) / 3600.0 AS hours,
    SUM(gpu_seconds) / 3600.0 AS gpu_hours,
    SUM(cpu_seconds) / 3600.0 AS cpu_hours,
    CAST(SUM(input_tokens) AS DOUBLE) AS input_tokens,
    CAST(SUM(output_tokens) AS DOUBLE) AS output_tokens
FROM labelled
GROUP BY grp, status
ORDER BY grp, status
