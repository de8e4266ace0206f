-- The whole workload per window of one trace's per-client rate series: the summed rate (req/s)
-- and the clients with traffic, window by window.
SELECT
    EXTRACT(EPOCH FROM ts) AS window_start_s,
    SUM(value) AS rate,
    COUNT(CASE WHEN value > 0 THEN 1 END) AS active_clients
FROM series
WHERE trace = $trace AND metric = 'request_rate' AND ts IS NOT NULL
GROUP BY EXTRACT(EPOCH FROM ts)
ORDER BY window_start_s
