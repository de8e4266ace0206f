-- What a trace's jobs hold: submissions to fit arrivals on, and the sizes and run times SWF
-- needs (a job without them is written with SWF's -1, unknown).
SELECT
    COUNT(*) AS rows,
    COUNT(submit_ts) AS timed,
    COUNT(*) FILTER (WHERE submit_ts IS NOT NULL AND run_s IS NOT NULL) AS with_run,
    COUNT(*) FILTER (WHERE submit_ts IS NOT NULL AND num_cpus IS NOT NULL) AS with_cpus,
    epoch_us(MIN(submit_ts)) AS first_us,
    epoch_us(MAX(submit_ts)) AS last_us
FROM jobs
WHERE trace = $trace
