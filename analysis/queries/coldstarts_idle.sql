-- Idle times of a deterministic sample of one trace's functions from $source (requests or
-- series, in the invocations view), for policies that must replay each function in order (the
-- adaptive keep-alive). Functions are taken in MD5 order of their key (app/func), at most
-- $max_functions of them, while the running total of their arrivals (per-interval series:
-- active intervals), each function capped at its first $max_fn_events, stays within
-- $max_events. One row per kept arrival: n invocations, idle_s the time since the end of the
-- latest earlier invocation (NULL for the first), tail_s (on the last kept row only) the idle
-- time after it until the next arrival or the end of the trace.
WITH inv AS (
    SELECT COALESCE(app, '') || '/' || func AS fn, t, d, n, until_s
    FROM invocations
    WHERE source = $source AND trace = $trace
),
horizon AS (
    SELECT MAX(until_s) AS t_end FROM inv
),
sizes AS (
    SELECT fn, LEAST(COUNT(*), $max_fn_events) AS m FROM inv GROUP BY fn
),
picked AS (
    SELECT fn, m
    FROM (
        SELECT
            fn,
            m,
            SUM(m) OVER (ORDER BY MD5(fn), fn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                AS running,
            ROW_NUMBER() OVER (ORDER BY MD5(fn), fn) AS rank_
        FROM sizes
    ) AS s
    WHERE running <= $max_events AND rank_ <= $max_functions
),
ordered AS (
    SELECT
        i.fn,
        p.m,
        i.t,
        i.n,
        ROW_NUMBER() OVER (PARTITION BY i.fn ORDER BY i.t, i.d) AS k,
        LEAD(i.t) OVER (PARTITION BY i.fn ORDER BY i.t, i.d) AS next_t,
        MAX(i.t + i.d) OVER (
            PARTITION BY i.fn ORDER BY i.t, i.d ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS prev_end,
        MAX(i.t + i.d) OVER (
            PARTITION BY i.fn ORDER BY i.t, i.d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS end_so_far
    FROM inv AS i
    JOIN picked AS p ON p.fn = i.fn
)
SELECT
    o.fn,
    o.k,
    o.n,
    o.t - o.prev_end AS idle_s,
    CASE WHEN o.k = o.m THEN COALESCE(o.next_t, h.t_end) - o.end_so_far END AS tail_s
FROM ordered AS o CROSS JOIN horizon AS h
WHERE o.k <= o.m
ORDER BY o.fn, o.k
