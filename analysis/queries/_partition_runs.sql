-- Fragment: the timed runs of one trace's repeated benchmarks, with t in epoch seconds. A
-- partition (benchmark, metric, unit, lifespan, region, sku) is one file of the Azure VM Noise
-- release: runs of one benchmark on one kind of VM.
SELECT benchmark, metric, unit, lifespan, region, sku, value, EXTRACT(EPOCH FROM ts) AS t
FROM measurements
WHERE trace = $trace AND value IS NOT NULL AND ts IS NOT NULL
