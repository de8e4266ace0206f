-- Per submitted job: run time and resources requested, in submission order.
SELECT run_s, num_cpus, num_gpus, mem_gb
FROM jobs
WHERE trace = $trace AND submit_ts IS NOT NULL
ORDER BY submit_ts
