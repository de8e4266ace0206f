-- Per level metric of one trace: samples, invalid samples (NULL value: a documented invalid
-- marker), samples with no entity, and the sampling instants of the whole trace (distinct
-- entity and time over every level metric), against which a metric recorded at only some
-- instants shows its coverage.
WITH s AS (
{{_level_series}}
),
instants AS (
    SELECT COUNT(*) AS instants
    FROM (SELECT DISTINCT entity, ts FROM s) AS d
)
SELECT
    s.metric,
    MAX(s.unit) AS unit,
    COUNT(*) AS samples,
    COUNT(*) - COUNT(s.value) AS invalid,
    COUNT(*) - COUNT(s.entity) AS unattributed,
    COUNT(DISTINCT s.entity) AS entities,
    MAX(i.instants) AS instants
FROM s
CROSS JOIN instants AS i
GROUP BY s.metric
ORDER BY s.metric
