-- Fragment: the series rows of one trace that sample a level (utilization, latency, size) rather
-- than count arrivals: 'invocations' belongs to the burstiness analysis, ServeGen's per-client
-- 'request_rate' and 'inter_arrival_cv' to the clients analysis.
SELECT entity, metric, unit, ts, value
FROM series
WHERE trace = $trace AND metric NOT IN ('invocations', 'request_rate', 'inter_arrival_cv')
