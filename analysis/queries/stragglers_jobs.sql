-- Stragglers per job of one trace's per-worker iteration times: a worker is a straggler in an
-- iteration when its time exceeds $factor times the iteration's median worker. A synchronous
-- iteration waits for its slowest worker, so the time lost to stragglers is the slowest minus
-- the median, summed over iterations, over the summed slowest. Iterations where fewer workers
-- reported than the job's largest count are counted apart (the sample skips some).
WITH rows_ AS (
    {{_worker_iterations}}
),
iterations AS (
    SELECT
        job,
        iteration,
        MAX(workers) AS workers,
        MAX(median) AS median,
        MAX(slowest) AS slowest,
        COUNT(CASE WHEN value > $factor * median THEN 1 END) AS stragglers
    FROM rows_
    GROUP BY job, iteration
),
sized AS (
    SELECT *, MAX(workers) OVER (PARTITION BY job) AS job_workers
    FROM iterations
)
SELECT
    job,
    MAX(job_workers) AS workers,
    COUNT(*) AS iterations,
    COUNT(CASE WHEN workers < job_workers THEN 1 END) AS partial_iterations,
    CAST(SUM(workers) AS BIGINT) AS worker_iterations,
    CAST(SUM(stragglers) AS BIGINT) AS stragglers,
    COUNT(CASE WHEN stragglers > 0 THEN 1 END) AS iterations_with_straggler,
    AVG(slowest / median) AS slowest_over_median,
    SUM(slowest - median) / SUM(slowest) AS lost_share
FROM sized
WHERE workers > 1
GROUP BY job
ORDER BY job
