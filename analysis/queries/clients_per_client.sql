-- Per client of one trace's per-client rate series (ServeGen: metric 'request_rate', req/s in
-- windows of interval_s seconds, zero when the client sent nothing): windows, windows with
-- traffic, requests (rate x window length), mean and peak rate and the population standard
-- deviation of the rate across windows (the client's burstiness at the window scale).
SELECT
    entity,
    COUNT(*) AS windows,
    COUNT(CASE WHEN value > 0 THEN 1 END) AS active,
    SUM(value * interval_s) AS requests,
    AVG(value) AS mean_rate,
    MAX(value) AS peak_rate,
    STDDEV_POP(value) AS rate_std,
    MAX(interval_s) AS window_s
FROM series
WHERE trace = $trace AND metric = 'request_rate' AND entity IS NOT NULL
GROUP BY entity
ORDER BY entity
