-- Fragment: each service of a trace's timed requests with its code, busiest first (NULL
-- services are one group). Every source query numbers services this same way.
SELECT
    service,
    ROW_NUMBER() OVER (ORDER BY COUNT(*) DESC, service NULLS FIRST) - 1 AS code
FROM requests
WHERE trace = $trace AND ts IS NOT NULL
GROUP BY service
