-- Arrivals of one trace from $source (requests or jobs, in the arrivals view) per bin of $bin_s
-- seconds from $t0 (epoch s), non-empty bins only, bins 0 .. $bins - 1. $half_tick (half the
-- clock resolution) keeps float error in epoch seconds from moving an arrival on a bin edge
-- into the bin before. $service, $tenant and $job_type: one group only (NULL = all).
SELECT bin, COUNT(*) AS events
FROM (
    SELECT FLOOR((EXTRACT(EPOCH FROM arrival_ts) - $t0 + $half_tick) / $bin_s) AS bin
    FROM arrivals
    WHERE source = $source AND trace = $trace AND arrival_ts IS NOT NULL
        AND ($service IS NULL OR service = $service)
        AND ($tenant IS NULL OR tenant = $tenant)
        AND ($job_type IS NULL OR job_type = $job_type)
) binned
WHERE bin >= 0 AND bin < $bins
GROUP BY bin
ORDER BY bin
