-- Benchmark runs of one VM-noise trace: one row per run, with the series name
-- "<benchmark> | <metric>" that --target and --probes match against.
--
-- A run's value is known once the run has finished: known_us = start + runtime (the
-- source's `runtime`, seconds, kept in `extra`; a run without one, or with a negative one,
-- counts as instantaneous). Features of a run at ts_us see only runs with known_us < ts_us.
-- Both are whole µs since the epoch, the runtime rounded half up as the session rounds
-- `runtime_s`, so batch and online features compare the same instants.
WITH runs AS (
    SELECT
        subject,
        lifespan,
        region,
        sku,
        ts,
        epoch_us(ts) AS ts_us,
        greatest(coalesce(TRY_CAST(json_extract(extra, '$.runtime_s') AS DOUBLE), 0.0), 0.0)
            AS runtime_s,
        benchmark || ' | ' || metric AS series,
        unit,
        value
    FROM measurements
    WHERE trace = $trace
      AND ts IS NOT NULL
      AND value IS NOT NULL
)
SELECT
    *,
    ts_us + CAST(floor(runtime_s * 1000000 + 0.5) AS BIGINT) AS known_us
FROM runs
ORDER BY ts, subject, series
