-- The release's own per-iteration CoV table (summaries, stat 'cv' with the iteration in extra:
-- population standard deviation over mean of the workers' times), as (grp, part, x) rows for
-- quantiles.sql: grp its job, plus grp '*' pooling every job. (The CoV of the per-worker jobs
-- is computed from their times by stragglers_iterations.sql.)
SELECT entity AS grp, 'published' AS part, value AS x
FROM summaries
WHERE trace = $trace AND stat = 'cv' AND extra ->> 'iteration' IS NOT NULL AND entity IS NOT NULL
UNION ALL
SELECT '*' AS grp, 'published' AS part, value AS x
FROM summaries
WHERE trace = $trace AND stat = 'cv' AND extra ->> 'iteration' IS NOT NULL
