-- The $k groups with most arrivals per grouping column (service, tenant) of one trace's
-- requests, with each column's number of groups and total arrivals.
WITH counts AS (
    SELECT 'service' AS dim, service AS grp, COUNT(*) AS events
    FROM requests
    WHERE trace = $trace AND ts IS NOT NULL AND service IS NOT NULL
    GROUP BY service
    UNION ALL
    SELECT 'tenant' AS dim, tenant AS grp, COUNT(*) AS events
    FROM requests
    WHERE trace = $trace AND ts IS NOT NULL AND tenant IS NOT NULL
    GROUP BY tenant
), ranked AS (
    SELECT dim, grp, events,
           ROW_NUMBER() OVER (PARTITION BY dim ORDER BY events DESC, grp) AS rnk,
           COUNT(*) OVER (PARTITION BY dim) AS groups,
           SUM(events) OVER (PARTITION BY dim) AS dim_events
    FROM counts
)
SELECT dim, grp, events, rnk, groups, dim_events
FROM ranked
WHERE rnk <= $k
ORDER BY dim, rnk
