-- View `invocations`: the timed invocations of serverless functions, for keep-alive models, from
-- `requests` (one row per invocation; a function is tenant/service, as Azure 2021 function ids
-- are unique only within their app) and from `series` (metric 'invocations': one row per
-- function and active interval; a function is service/entity; durations are unknown, so the
-- interval's invocations take no time and arrive at its start). `source` names the table.
--   app, func    the function is the pair (app, func)
--   t            arrival in epoch seconds
--   d            busy time in seconds (>= 0; 0 when unknown)
--   n            invocations: 1 per request, the interval's count for series
--   until_s      end of the time the row covers: t + d for requests, the end of the interval for
--                series; the trace ends at the latest
SELECT
    trace,
    'requests' AS source,
    tenant AS app,
    service AS func,
    EXTRACT(EPOCH FROM ts) AS t,
    CASE WHEN duration_s > 0 THEN duration_s ELSE CAST(0 AS DOUBLE) END AS d,
    CAST(1 AS DOUBLE) AS n,
    EXTRACT(EPOCH FROM ts)
        + CASE WHEN duration_s > 0 THEN duration_s ELSE CAST(0 AS DOUBLE) END AS until_s
FROM requests
WHERE ts IS NOT NULL AND service IS NOT NULL
UNION ALL
SELECT
    trace,
    'series' AS source,
    service AS app,
    entity AS func,
    EXTRACT(EPOCH FROM ts) AS t,
    CAST(0 AS DOUBLE) AS d,
    value AS n,
    EXTRACT(EPOCH FROM ts) + interval_s AS until_s
FROM series
WHERE metric = 'invocations' AND value > 0 AND ts IS NOT NULL
