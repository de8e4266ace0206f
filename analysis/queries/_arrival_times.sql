-- Fragment: the arrival times (t, epoch seconds) of one trace from $source (requests or jobs,
-- in the arrivals view); $service, $tenant and $job_type pick one group only (NULL = all).
SELECT EXTRACT(EPOCH FROM arrival_ts) AS t
FROM arrivals
WHERE source = $source AND trace = $trace AND arrival_ts IS NOT NULL
    AND ($service IS NULL OR service = $service)
    AND ($tenant IS NULL OR tenant = $tenant)
    AND ($job_type IS NULL OR job_type = $job_type)
