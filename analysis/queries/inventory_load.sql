-- The work a trace's jobs asked of its machines: core-seconds (requested cores x run time) and
-- the span from the first start to the last end (s), for the offered load against a capacity
-- given in the same trace (SWF's MaxProcs). Jobs without cores or run time are counted apart.
SELECT
    COUNT(*) AS jobs,
    COUNT(CASE WHEN num_cpus IS NOT NULL AND run_s IS NOT NULL THEN 1 END) AS timed_jobs,
    SUM(num_cpus * run_s) AS core_seconds,
    EXTRACT(EPOCH FROM MAX(end_ts)) - EXTRACT(EPOCH FROM MIN(start_ts)) AS span_s
FROM jobs
WHERE trace = $trace
