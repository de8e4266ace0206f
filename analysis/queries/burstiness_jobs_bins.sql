-- Arrivals of one trace's jobs (jobs.submit_ts) per bin of $bin_s seconds from $t0 (epoch s),
-- non-empty bins only, bins 0 .. $bins - 1. $half_tick (half the clock resolution) keeps
-- float error in epoch seconds from moving an arrival on a bin edge into the bin before.
-- $tenant and $job_type: one group only (NULL = all).
SELECT bin, COUNT(*) AS events
FROM (
    SELECT FLOOR((EXTRACT(EPOCH FROM submit_ts) - $t0 + $half_tick) / $bin_s) AS bin
    FROM jobs
    WHERE trace = $trace AND submit_ts IS NOT NULL
        AND ($tenant IS NULL OR tenant = $tenant)
        AND ($job_type IS NULL OR job_type = $job_type)
) binned
WHERE bin >= 0 AND bin < $bins
GROUP BY bin
ORDER BY bin
