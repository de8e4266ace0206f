-- Arrival times of one trace from $source (requests or jobs, in the arrivals view), in seconds
-- from $first_us (µs since 1970: the first arrival), in order: what a fidelity comparison
-- measures (8 bytes an arrival). $service, $tenant and $job_type pick one group (NULL = all).
SELECT CAST(epoch_us(arrival_ts) - $first_us AS DOUBLE) / 1e6 AS t
FROM arrivals
WHERE source = $source AND trace = $trace AND arrival_ts IS NOT NULL
    AND ($service IS NULL OR service = $service)
    AND ($tenant IS NULL OR tenant = $tenant)
    AND ($job_type IS NULL OR job_type = $job_type)
ORDER BY t
