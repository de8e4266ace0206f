-- Arrivals of one trace's requests (requests.ts) per bin of $bin_s seconds from $t0 (epoch s),
-- non-empty bins only, bins 0 .. $bins - 1. $half_tick (half the clock resolution) keeps
-- float error in epoch seconds from moving an arrival on a bin edge into the bin before.
-- $service and $tenant: one group only (NULL = all).
SELECT bin, COUNT(*) AS events
FROM (
    SELECT FLOOR((EXTRACT(EPOCH FROM ts) - $t0 + $half_tick) / $bin_s) AS bin
    FROM requests
    WHERE trace = $trace AND ts IS NOT NULL
        AND ($service IS NULL OR service = $service)
        AND ($tenant IS NULL OR tenant = $tenant)
) binned
WHERE bin >= 0 AND bin < $bins
GROUP BY bin
ORDER BY bin
