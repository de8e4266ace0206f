-- The $k groups with most arrivals per grouping column of one trace from $source (requests:
-- service and tenant; jobs: tenant and job_type; the arrivals view leaves the others NULL),
-- with each column's number of groups and total arrivals.
WITH counts AS (
    SELECT 'service' AS dim, service AS grp, COUNT(*) AS events
    FROM arrivals
    WHERE source = $source AND trace = $trace AND arrival_ts IS NOT NULL AND service IS NOT NULL
    GROUP BY service
    UNION ALL
    SELECT 'tenant' AS dim, tenant AS grp, COUNT(*) AS events
    FROM arrivals
    WHERE source = $source AND trace = $trace AND arrival_ts IS NOT NULL AND tenant IS NOT NULL
    GROUP BY tenant
    UNION ALL
    SELECT 'job_type' AS dim, job_type AS grp, COUNT(*) AS events
    FROM arrivals
    WHERE source = $source AND trace = $trace AND arrival_ts IS NOT NULL AND job_type IS NOT NULL
    GROUP BY job_type
), ranked AS (
    SELECT dim, grp, events,
           ROW_NUMBER() OVER (PARTITION BY dim ORDER BY events DESC, grp) AS rnk,
           COUNT(*) OVER (PARTITION BY dim) AS groups,
           -- DECIMAL(38, 0): DuckDB's type for a sum of BIGINTs, spelled out for Spark
           SUM(CAST(events AS DECIMAL(38, 0))) OVER (PARTITION BY dim) AS dim_events
    FROM counts
)
SELECT dim, grp, events, rnk, groups, dim_events
FROM ranked
WHERE rnk <= $k
ORDER BY dim, rnk
