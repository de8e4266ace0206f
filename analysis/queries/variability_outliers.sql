-- Runs far from their partition's median, per partition of one trace: the median (the middle
-- run, or the mean of the two middle runs, from row ranks within the partition) and the runs
-- more than $band (a fraction) below or above it. A window per partition, never over all rows.
WITH runs AS (
    {{_partition_runs}}
),
ranked AS (
    SELECT
        benchmark, metric, unit, lifespan, region, sku, value,
        ROW_NUMBER() OVER (
            PARTITION BY benchmark, metric, unit, lifespan, region, sku ORDER BY value
        ) AS r,
        COUNT(*) OVER (PARTITION BY benchmark, metric, unit, lifespan, region, sku) AS n
    FROM runs
),
centred AS (
    SELECT
        benchmark, metric, unit, lifespan, region, sku, value,
        AVG(CASE WHEN r = FLOOR((n + 1) / 2.0) OR r = CEIL((n + 1) / 2.0) THEN value END)
            OVER (PARTITION BY benchmark, metric, unit, lifespan, region, sku) AS median
    FROM ranked
)
SELECT
    benchmark,
    metric,
    unit,
    lifespan,
    region,
    sku,
    COUNT(*) AS runs,
    MAX(median) AS median,
    COUNT(CASE WHEN value < median * (1 - $band) THEN 1 END) AS below,
    COUNT(CASE WHEN value > median * (1 + $band) THEN 1 END) AS above
FROM centred
GROUP BY benchmark, metric, unit, lifespan, region, sku
ORDER BY benchmark, metric, unit, lifespan, region, sku
