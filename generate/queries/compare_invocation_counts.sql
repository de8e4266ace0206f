-- Invocations of one trace's per-interval count series (metric 'invocations'), summed over
-- functions per interval start, in seconds from $first_us (µs since 1970): the arrivals of a
-- counts-only trace, known to the interval. $service and $tenant pick one group (NULL = all).
SELECT CAST(epoch_us(ts) - $first_us AS DOUBLE) / 1e6 AS t, SUM(value) AS n
FROM series
WHERE trace = $trace AND metric = 'invocations' AND value > 0 AND ts IS NOT NULL
    AND ($service IS NULL OR service = $service)
    AND ($tenant IS NULL OR tenant = $tenant)
GROUP BY t
ORDER BY t
