-- Modelled cold starts under fixed keep-alive windows, from one trace's invocations (requests:
-- one row per invocation; a function is tenant/service, as Azure 2021 function ids are unique
-- only within their app). Each function is one instance that serves its invocations one after
-- another: an invocation is a cold start when it is the function's first, or when more than
-- the window has passed since the end of the latest earlier invocation. Idle time up to the
-- window is wasted (warm but unused), the tail after a function's last invocation included, up
-- to the end of the trace. One row per window in $windows (seconds), with the distribution of
-- the per-function cold-start rate.
WITH inv AS (
    SELECT
        tenant,
        service,
        EXTRACT(EPOCH FROM ts) AS t,
        CASE WHEN duration_s > 0 THEN duration_s ELSE CAST(0 AS DOUBLE) END AS d
    FROM requests
    WHERE trace = $trace AND ts IS NOT NULL AND service IS NOT NULL
),
busy AS (
    SELECT
        tenant,
        service,
        -- ties in t need no order: the tied arrival after the first is warm either way
        t - MAX(t + d) OVER (
            PARTITION BY tenant, service ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS idle_s
    FROM inv
),
horizon AS (
    SELECT MAX(t + d) AS t_end FROM inv
),
gaps AS (
    SELECT tenant, service, idle_s, CAST(1 AS DOUBLE) AS n FROM busy
    UNION ALL
    SELECT i.tenant, i.service, h.t_end - MAX(i.t + i.d) AS idle_s, CAST(0 AS DOUBLE) AS n
    FROM inv AS i CROSS JOIN horizon AS h
    GROUP BY i.tenant, i.service, h.t_end
),
windows AS (
    SELECT UNNEST($windows) AS window_s
),
per_fn AS (
    SELECT
        w.window_s,
        g.tenant,
        g.service,
        SUM(g.n) AS invocations,
        COUNT(CASE WHEN g.n > 0 THEN 1 END) AS events,
        COUNT(CASE WHEN g.n > 0 AND (g.idle_s IS NULL OR g.idle_s > w.window_s) THEN 1 END)
            AS cold_starts,
        SUM(
            CASE
                WHEN g.idle_s IS NULL OR g.idle_s <= 0 THEN CAST(0 AS DOUBLE)
                WHEN g.idle_s < w.window_s THEN g.idle_s
                ELSE w.window_s
            END
        ) AS wasted_s
    FROM gaps AS g CROSS JOIN windows AS w
    GROUP BY w.window_s, g.tenant, g.service
)
SELECT
    window_s,
    COUNT(*) AS functions,
    SUM(invocations) AS invocations,
    CAST(SUM(cold_starts) AS BIGINT) AS cold_starts,
    SUM(wasted_s) AS wasted_s,
    PERCENTILE_CONT(0.50) WITHIN GROUP (ORDER BY CAST(cold_starts AS DOUBLE) / invocations) AS fn_cold_rate_p50,
    PERCENTILE_CONT(0.75) WITHIN GROUP (ORDER BY CAST(cold_starts AS DOUBLE) / invocations) AS fn_cold_rate_p75,
    AVG(CASE WHEN cold_starts = events THEN 1.0 ELSE 0.0 END) AS fn_always_cold
FROM per_fn
GROUP BY window_s
ORDER BY window_s
