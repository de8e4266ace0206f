-- The inter-arrival CV of every client window with traffic (ServeGen publishes one per window
-- with a fitted arrival law), as (grp, part, x) rows for quantiles.sql: once per client
-- (part 'client', grp the client) and once pooled over all clients (part 'all', grp '*').
SELECT entity AS grp, 'client' AS part, value AS x
FROM series
WHERE trace = $trace AND metric = 'inter_arrival_cv' AND entity IS NOT NULL
UNION ALL
SELECT '*' AS grp, 'all' AS part, value AS x
FROM series
WHERE trace = $trace AND metric = 'inter_arrival_cv'
