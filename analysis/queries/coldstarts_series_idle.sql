-- Idle times of a deterministic sample of one trace's functions (series, metric invocations),
-- for policies that must replay each function in order (the adaptive keep-alive). Functions
-- are taken in MD5 order of their key (service/entity), at most $max_functions of them, while
-- the running total of their active intervals, each function capped at its first
-- $max_fn_events, stays within $max_events. Invocations take no time and arrive at the start of
-- their interval. One row per kept active interval: n invocations, idle_s the time since the
-- previous active interval (NULL for the first), tail_s (on the last kept row only) the idle
-- time after it until the next active interval or the end of the trace.
WITH inv AS (
    SELECT
        COALESCE(service, '') || '/' || entity AS fn,
        EXTRACT(EPOCH FROM ts) AS t,
        value AS n,
        interval_s
    FROM series
    WHERE trace = $trace AND metric = 'invocations' AND value > 0 AND ts IS NOT NULL
),
horizon AS (
    SELECT MAX(t + interval_s) AS t_end FROM inv
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
        ROW_NUMBER() OVER (PARTITION BY i.fn ORDER BY i.t) AS k,
        LAG(i.t) OVER (PARTITION BY i.fn ORDER BY i.t) AS prev_t,
        LEAD(i.t) OVER (PARTITION BY i.fn ORDER BY i.t) AS next_t
    FROM inv AS i
    JOIN picked AS p ON p.fn = i.fn
)
SELECT
    o.fn,
    o.k,
    o.n,
    o.t - o.prev_t AS idle_s,
    CASE WHEN o.k = o.m THEN COALESCE(o.next_t, h.t_end) - o.t END AS tail_s
FROM ordered AS o CROSS JOIN horizon AS h
WHERE o.k <= o.m
ORDER BY o.fn, o.k
