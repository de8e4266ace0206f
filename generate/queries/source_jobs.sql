-- Submitted jobs in submission order: arrival, then the fields resampled together (size, run
-- time, requested time and memory, outcome, user, queue), so a big job keeps its long run and
-- its user. SWF logs keep their own fields in `extra`; other job traces give NULL there.
SELECT
    epoch_us(submit_ts) AS t_us,
    run_s,
    num_cpus,
    num_gpus,
    mem_gb,
    status,
    status_raw,
    tenant,
    job_type,
    cluster,
    TRY_CAST(json_extract_string(extra, '$.req_time_s') AS DOUBLE) AS req_time_s,
    TRY_CAST(json_extract_string(extra, '$.req_mem_kb') AS BIGINT) AS req_mem_kb,
    TRY_CAST(json_extract_string(extra, '$.group_id') AS BIGINT) AS group_id,
    TRY_CAST(json_extract_string(extra, '$.executable') AS BIGINT) AS executable,
    TRY_CAST(json_extract_string(extra, '$.queue') AS BIGINT) AS queue
FROM jobs
WHERE trace = $trace AND submit_ts IS NOT NULL
ORDER BY submit_ts, job_id, run_s, num_cpus
