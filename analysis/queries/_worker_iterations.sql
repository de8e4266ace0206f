-- Fragment, included in a CTE: one row per worker and iteration of one trace's per-worker
-- iteration times (measurements with a run number and no clock, subject `<job>/<worker>`: the
-- PAI 2020 mini-batch times), with the iteration's median over its workers (the middle worker,
-- or the mean of the two middle ones, from ranks within the iteration) and its slowest worker.
-- Windows are per job and iteration, never over all rows.
-- A worker reported twice in one iteration counts once, with its mean time (the PAI sample
-- repeats one line of job_2 verbatim).
WITH worker_runs AS (
    SELECT
        SPLIT_PART(subject, '/', 1) AS job,
        subject AS worker,
        run AS iteration,
        AVG(value) AS value
    FROM measurements
    WHERE trace = $trace AND ts IS NULL AND run IS NOT NULL AND value IS NOT NULL
        AND subject LIKE '%/%'
    GROUP BY subject, run
),
worker_ranks AS (
    SELECT
        job,
        worker,
        iteration,
        value,
        ROW_NUMBER() OVER (PARTITION BY job, iteration ORDER BY value) AS r,
        COUNT(*) OVER (PARTITION BY job, iteration) AS n
    FROM worker_runs
)
SELECT
    job,
    worker,
    iteration,
    value,
    n AS workers,
    AVG(CASE WHEN r = FLOOR((n + 1) / 2.0) OR r = CEIL((n + 1) / 2.0) THEN value END)
        OVER (PARTITION BY job, iteration) AS median,
    MAX(value) OVER (PARTITION BY job, iteration) AS slowest
FROM worker_ranks
