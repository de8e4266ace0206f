-- Invocation counts of one trace's series (metric 'invocations', one row per entity and
-- interval): total invocations, rows, first and last interval start in epoch seconds and the
-- interval lengths. $service and $tenant: one group only (NULL = all).
SELECT SUM(value) AS events,
       COUNT(*) AS rows_,
       MIN(EXTRACT(EPOCH FROM ts)) AS first_s,
       MAX(EXTRACT(EPOCH FROM ts)) AS last_s,
       MIN(interval_s) AS interval_min_s,
       MAX(interval_s) AS interval_max_s
FROM series
WHERE trace = $trace AND metric = 'invocations' AND ts IS NOT NULL AND value IS NOT NULL
      AND ($service IS NULL OR service = $service)
      AND ($tenant IS NULL OR tenant = $tenant)
