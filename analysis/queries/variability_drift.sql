-- Drift of each partition of one trace over time: the least-squares slope of the value against
-- days since the partition's first run, with the partition's mean and span, so that the slope
-- can be read relative to the level (a fraction per 30 days).
WITH runs AS (
    {{_partition_runs}}
),
dated AS (
    SELECT
        benchmark, metric, unit, lifespan, region, sku, value,
        (t - MIN(t) OVER (PARTITION BY benchmark, metric, unit, lifespan, region, sku))
            / 86400.0 AS day
    FROM runs
)
SELECT
    benchmark,
    metric,
    unit,
    lifespan,
    region,
    sku,
    COUNT(*) AS runs,
    MAX(day) AS span_days,
    AVG(value) AS mean,
    REGR_SLOPE(value, day) AS slope_per_day
FROM dated
GROUP BY benchmark, metric, unit, lifespan, region, sku
ORDER BY benchmark, metric, unit, lifespan, region, sku
