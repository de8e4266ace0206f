-- The coefficient of variation of the workers' times in each iteration of one trace's per-worker
-- jobs (population standard deviation over mean, as the PAI release defines its published CoV),
-- one row per job and iteration with more than one worker.
WITH rows_ AS (
    {{_worker_iterations}}
)
SELECT job, iteration, STDDEV_POP(value) / AVG(value) AS cv
FROM rows_
WHERE workers > 1
GROUP BY job, iteration
ORDER BY job, iteration
