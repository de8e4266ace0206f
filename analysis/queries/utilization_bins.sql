-- Per level metric and $bin_s-wide time bin of one trace: the entities sampled in the bin, the
-- mean of their means (each entity weighs the same, as a cluster's average utilization) and the
-- largest and smallest entity mean, for the pattern over time and the imbalance across entities.
WITH s AS (
{{_level_series}}
),
per_entity AS (
    SELECT metric, entity, FLOOR(EXTRACT(EPOCH FROM ts) / $bin_s) AS bin, AVG(value) AS mean
    FROM s
    WHERE entity IS NOT NULL AND ts IS NOT NULL AND value IS NOT NULL
    GROUP BY metric, entity, FLOOR(EXTRACT(EPOCH FROM ts) / $bin_s)
)
SELECT
    metric,
    bin * $bin_s AS bin_start_s,
    COUNT(*) AS entities,
    AVG(mean) AS mean,
    MAX(mean) AS max_entity_mean,
    MIN(mean) AS min_entity_mean
FROM per_entity
GROUP BY metric, bin
ORDER BY metric, bin
