-- Level over time of each benchmark of one trace, per VM lifespan: runs are divided by their
-- partition's mean (SKUs and regions differ in level, not only in noise) and averaged per
-- 30-day window (window = floor(epoch / 2,592,000 s)).
WITH runs AS (
    {{_partition_runs}}
),
relative AS (
    SELECT
        benchmark, metric, unit, lifespan, t,
        value / AVG(value) OVER (PARTITION BY benchmark, metric, unit, lifespan, region, sku)
            AS rel
    FROM runs
)
SELECT
    benchmark,
    metric,
    unit,
    lifespan,
    FLOOR(t / 2592000.0) * 2592000.0 AS window_start_s,
    COUNT(*) AS runs,
    AVG(rel) AS rel_mean
FROM relative
GROUP BY benchmark, metric, unit, lifespan, FLOOR(t / 2592000.0)
ORDER BY benchmark, metric, unit, lifespan, window_start_s
