-- Which arrival law the publisher fitted to each client window of one trace (ServeGen's
-- summaries: one shape and one scale row per window, the law in extra.distribution): windows
-- per client and law, counted once through the shape row.
SELECT
    entity,
    extra ->> 'distribution' AS distribution,
    COUNT(*) AS windows
FROM summaries
WHERE trace = $trace AND metric = 'inter_arrival_time' AND stat LIKE '%_shape'
GROUP BY entity, extra ->> 'distribution'
ORDER BY entity, distribution
