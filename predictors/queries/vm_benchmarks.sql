-- Benchmark runs of one VM-noise trace: one row per run, with the series name
-- "<benchmark> | <metric>" that --target and --probes match against.
SELECT
    subject,
    lifespan,
    region,
    sku,
    ts,
    benchmark || ' | ' || metric AS series,
    unit,
    value
FROM measurements
WHERE trace = $trace
  AND ts IS NOT NULL
  AND value IS NOT NULL
ORDER BY ts, subject, series
