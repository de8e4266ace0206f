-- Invocations per function and minute from a per-minute count series (Azure Functions 2019),
-- minutes counted from 1970 (relative traces are anchored there). Minutes without a row had no
-- invocation.
SELECT
    tenant,
    service,
    entity,
    kind,
    epoch_us(ts) // 60000000 AS minute,
    CAST(value AS BIGINT) AS n
FROM series
WHERE trace = $trace AND metric = 'invocations' AND value > 0
ORDER BY tenant, service, entity, kind, minute
