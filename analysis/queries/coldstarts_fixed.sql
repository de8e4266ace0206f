-- Modelled cold starts under fixed keep-alive windows, from one trace's invocations from
-- $source (requests or series, in the invocations view). Each function is one instance that
-- serves its invocations one after another: an arrival is a cold start when it is the
-- function's first, or when more than the window has passed since the end of the latest earlier
-- invocation (per-interval series: its previous active interval; the interval's other
-- invocations are warm). Idle time up to the window is wasted (warm but unused), the tail after
-- a function's last invocation included, up to the end of the trace. One row per window in
-- $windows (seconds), with the distribution of the per-function cold-start rate.
WITH inv AS (
    SELECT app, func, t, d, n, until_s
    FROM invocations
    WHERE source = $source AND trace = $trace
),
busy AS (
    SELECT
        app,
        func,
        n,
        -- ties in t need no order: the tied arrival after the first is warm either way
        t - MAX(t + d) OVER (
            PARTITION BY app, func ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS idle_s
    FROM inv
),
horizon AS (
    SELECT MAX(until_s) AS t_end FROM inv
),
gaps AS (
    SELECT app, func, idle_s, n FROM busy
    UNION ALL
    SELECT i.app, i.func, h.t_end - MAX(i.t + i.d) AS idle_s, CAST(0 AS DOUBLE) AS n
    FROM inv AS i CROSS JOIN horizon AS h
    GROUP BY i.app, i.func, h.t_end
),
windows AS (
    SELECT UNNEST($windows) AS window_s
),
per_fn AS (
    SELECT
        w.window_s,
        g.app,
        g.func,
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
    GROUP BY w.window_s, g.app, g.func
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
