-- Services of a trace's timed requests with their codes and request counts, busiest first.
WITH services AS (
    {{_service_codes}}
)
SELECT s.code, s.service, COUNT(*) AS requests
FROM requests AS r
JOIN services AS s ON r.service IS NOT DISTINCT FROM s.service
WHERE r.trace = $trace AND r.ts IS NOT NULL
GROUP BY s.code, s.service
ORDER BY s.code
