-- View `arrivals`: one row per unit of work from the event tables, `requests` (a request or
-- function invocation) and `jobs` (a batch job, task or pod), under common column names, so an
-- analysis of arrivals, final statuses and durations is written once for both. `source` names
-- the table; a column the table does not have is NULL.
--   arrival_ts   when the work arrived: requests.ts, jobs.submit_ts
--   event_ts     the row's time: its arrival, else (jobs) its start, else its end
--   duration_s   requests.duration_s, jobs.run_s
--   grouping     service, kind (requests); job_type, cluster (jobs); tenant (both)
--   sizes        input_tokens, output_tokens (requests); num_gpus, num_cpus (jobs)
SELECT
    trace,
    'requests' AS source,
    ts AS arrival_ts,
    ts AS event_ts,
    status,
    status_raw,
    duration_s,
    service,
    tenant,
    kind,
    CAST(NULL AS VARCHAR) AS job_type,
    CAST(NULL AS VARCHAR) AS cluster,
    input_tokens,
    output_tokens,
    CAST(NULL AS DOUBLE) AS num_gpus,
    CAST(NULL AS DOUBLE) AS num_cpus
FROM requests
UNION ALL
SELECT
    trace,
    'jobs' AS source,
    submit_ts AS arrival_ts,
    COALESCE(submit_ts, start_ts, end_ts) AS event_ts,
    status,
    status_raw,
    run_s AS duration_s,
    CAST(NULL AS VARCHAR) AS service,
    tenant,
    CAST(NULL AS VARCHAR) AS kind,
    job_type,
    cluster,
    CAST(NULL AS BIGINT) AS input_tokens,
    CAST(NULL AS BIGINT) AS output_tokens,
    num_gpus,
    num_cpus
FROM jobs
