-- Per worker of one trace's per-worker iteration times: iterations, and those in which the
-- worker was a straggler (more than $factor times its iteration's median worker), to tell a
-- persistent straggler (one worker, most iterations) from transient ones.
WITH rows_ AS (
    {{_worker_iterations}}
)
SELECT
    job,
    worker,
    COUNT(*) AS iterations,
    COUNT(CASE WHEN value > $factor * median THEN 1 END) AS straggling,
    AVG(value / median) AS mean_over_median
FROM rows_
WHERE workers > 1
GROUP BY job, worker
ORDER BY job, worker
