-- Invocations of one trace's series (metric 'invocations') per bin of $bin_s seconds (a multiple
-- of the interval) from $t0 (epoch s), non-empty bins only, bins 0 .. $bins - 1; intervals
-- are placed by their start plus $half_tick (half an interval).
-- $service and $tenant: one group only (NULL = all).
SELECT bin, SUM(value) AS events
FROM (
    SELECT FLOOR((EXTRACT(EPOCH FROM ts) - $t0 + $half_tick) / $bin_s) AS bin, value
    FROM series
    WHERE trace = $trace AND metric = 'invocations' AND ts IS NOT NULL AND value IS NOT NULL
      AND ($service IS NULL OR service = $service)
      AND ($tenant IS NULL OR tenant = $tenant)
) binned
WHERE bin >= 0 AND bin < $bins
GROUP BY bin
ORDER BY bin
