-- Memory per function (GB) of a per-interval invocation trace, for weighting wasted warm time:
-- the mean of the published allocated-memory means (summaries, metric mem_gb, stat mean) over
-- the days, taken per function when published per function, else the app's memory split evenly
-- over the app's functions seen in the series (as the Azure Functions 2019 tooling does).
WITH fns AS (
    SELECT DISTINCT service, entity
    FROM series
    WHERE trace = $trace AND metric = 'invocations'
),
per_app AS (
    SELECT service, COUNT(*) AS k FROM fns GROUP BY service
),
mem AS (
    SELECT entity, AVG(value) AS mem_gb
    FROM summaries
    WHERE trace = $trace AND metric = 'mem_gb' AND stat = 'mean'
    GROUP BY entity
)
SELECT
    COALESCE(f.service, '') || '/' || f.entity AS fn,
    COALESCE(mf.mem_gb, ma.mem_gb / a.k) AS mem_gb
FROM fns AS f
LEFT JOIN mem AS mf ON mf.entity = f.entity
LEFT JOIN mem AS ma ON ma.entity = f.service
LEFT JOIN per_app AS a ON a.service = f.service
WHERE COALESCE(mf.mem_gb, ma.mem_gb) IS NOT NULL
ORDER BY fn
