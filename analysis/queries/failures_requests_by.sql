-- Requests of one trace per group and final status: rows, busy hours and tokens.
-- $dim picks the grouping: all, service, tenant, kind, input_tokens or hour. Input tokens fall
-- into log-$base buckets numbered 0 (none), 1 ((0, 1]), k ((base^(k-2), base^(k-1)]); hour is
-- the UTC hour of day of arrival. Groups beyond the $top largest fold into '(other)'
-- ($top <= 0 keeps all); a NULL group is '(unknown)'.
WITH base AS (
    SELECT
        status,
        duration_s,
        input_tokens,
        output_tokens,
        CASE $dim
            WHEN 'all' THEN 'all'
            WHEN 'service' THEN service
            WHEN 'tenant' THEN tenant
            WHEN 'kind' THEN kind
            WHEN 'input_tokens' THEN CAST(
                CASE
                    WHEN input_tokens IS NULL THEN NULL
                    WHEN input_tokens <= 0 THEN 0
                    WHEN input_tokens <= 1 THEN 1
                    -- the epsilon keeps exact powers (ln 16 / ln 4) in their own bucket
                    ELSE CAST(CEIL(LN(input_tokens) / LN($base) - 1e-9) AS INTEGER) + 1
                END AS VARCHAR)
            WHEN 'hour' THEN CAST(EXTRACT(HOUR FROM ts) AS VARCHAR)
        END AS grp
    FROM requests
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
        b.duration_s,
        b.input_tokens,
        b.output_tokens
    FROM base AS b
    LEFT JOIN ranked AS r ON r.grp = b.grp
)
SELECT
    grp,
    status,
    COUNT(*) AS n,
    COUNT(duration_s) AS n_timed,
    SUM(duration_s) / 3600.0 AS busy_hours,
    CAST(SUM(input_tokens) AS DOUBLE) AS input_tokens,
    CAST(SUM(output_tokens) AS DOUBLE) AS output_tokens
FROM labelled
GROUP BY grp, status
ORDER BY grp, status
