-- Run-to-run variability of one trace's repeated benchmark measurements: per partition (benchmark,
-- metric, unit, VM lifespan, region, SKU; one file of the Azure VM Noise release), the number of
-- runs and subjects, the mean, the sample standard deviation and their ratio, the coefficient of
-- variation (NULL below two runs or at a zero mean).
SELECT
    benchmark,
    metric,
    unit,
    lifespan,
    region,
    sku,
    COUNT(*) AS runs,
    COUNT(DISTINCT subject) AS subjects,
    AVG(value) AS mean,
    STDDEV_SAMP(value) AS std,
    STDDEV_SAMP(value) / NULLIF(ABS(AVG(value)), 0) AS cv
FROM measurements
WHERE trace = $trace AND value IS NOT NULL
GROUP BY benchmark, metric, unit, lifespan, region, sku
ORDER BY benchmark, metric, unit, lifespan, region, sku
