-- Client windows of one trace with an inter-arrival CV (windows with traffic), and those whose
-- CV exceeds 1: arrivals burstier than a Poisson process's within the window.
SELECT
    COUNT(*) AS windows,
    COUNT(CASE WHEN value > 1 THEN 1 END) AS bursty
FROM series
WHERE trace = $trace AND metric = 'inter_arrival_cv'
