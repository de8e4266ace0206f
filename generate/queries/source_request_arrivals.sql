-- Every timed request's arrival (µs since 1970) and service code, in arrival order: the
-- arrival models are fitted on all of them (8 + 4 bytes a request, no text).
WITH services AS (
    {{_service_codes}}
)
SELECT epoch_us(r.ts) AS t_us, CAST(s.code AS INTEGER) AS service
FROM requests AS r
JOIN services AS s ON r.service IS NOT DISTINCT FROM s.service
WHERE r.trace = $trace AND r.ts IS NOT NULL
ORDER BY r.ts, s.code
