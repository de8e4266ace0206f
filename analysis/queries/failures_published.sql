-- Published final-state statistics of a summaries-only trace (Acme's cluster_summary): the
-- share of jobs per final state (metric jobs_<state>, stat fraction), GPU time per final state
-- (gpu_time_<state>, fraction and GPU-s sum) and the job counts that weight them, per cluster
-- (entity) and job kind (gpu, cpu, all).
SELECT entity AS cluster, kind, metric, stat, value, count
FROM summaries
WHERE trace = $trace
    AND (
        (SUBSTRING(metric, 1, 5) = 'jobs_' AND stat = 'fraction')
        OR (SUBSTRING(metric, 1, 9) = 'gpu_time_' AND stat IN ('fraction', 'sum'))
        OR (metric = 'jobs' AND stat = 'count')
    )
ORDER BY cluster, kind, metric, stat
