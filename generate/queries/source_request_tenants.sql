-- The tenant (application, user) most requests of each service came from: a generated Azure
-- Functions layout names each function's app and owner by it.
SELECT service, tenant
FROM (
    SELECT
        service,
        tenant,
        ROW_NUMBER() OVER (PARTITION BY service ORDER BY COUNT(*) DESC, tenant NULLS LAST) AS k
    FROM requests
    WHERE trace = $trace AND ts IS NOT NULL
    GROUP BY service, tenant
)
WHERE k = 1
