-- Whether a trace holds per-minute invocation counts (Azure Functions 2019) and their span.
SELECT
    COUNT(*) AS rows,
    COUNT(DISTINCT entity) AS functions,
    MIN(epoch_us(ts) // 60000000) AS first_minute,
    MAX(epoch_us(ts) // 60000000) AS last_minute,
    MIN(interval_s) AS interval_s,
    MAX(interval_s) AS max_interval_s
FROM series
WHERE trace = $trace AND metric = 'invocations'
