-- Every valid sample of each level metric of one trace, as (grp, part, x) rows for
-- quantiles.sql: grp is the metric. Invalid markers are stored as NULL and left out.
WITH s AS (
{{_level_series}}
)
SELECT metric AS grp, '' AS part, value AS x
FROM s
WHERE value IS NOT NULL
