-- Per level metric and entity (machine, container) of one trace: samples, valid samples, mean,
-- maximum, samples at or above $hot (percent metrics only: a hot spot), and the $bin_s-wide time
-- bins the entity has samples in, with its first and last bin (bin = floor(epoch / $bin_s)), so
-- that bins without a sample inside the entity's own span count as missing data.
WITH s AS (
{{_level_series}}
),
per_entity AS (
    SELECT
        metric,
        entity,
        COUNT(*) AS samples,
        COUNT(value) AS valid,
        AVG(value) AS mean,
        MAX(value) AS max,
        COUNT(CASE WHEN unit = 'percent' AND value >= $hot THEN 1 END) AS hot
    FROM s
    WHERE entity IS NOT NULL
    GROUP BY metric, entity
),
binned AS (
    SELECT DISTINCT metric, entity, FLOOR(EXTRACT(EPOCH FROM ts) / $bin_s) AS bin
    FROM s
    WHERE entity IS NOT NULL AND ts IS NOT NULL
),
bins AS (
    SELECT metric, entity, COUNT(*) AS bins, MIN(bin) AS first_bin, MAX(bin) AS last_bin
    FROM binned
    GROUP BY metric, entity
)
SELECT
    e.metric,
    e.entity,
    e.samples,
    e.valid,
    e.mean,
    e.max,
    e.hot,
    b.bins,
    b.first_bin,
    b.last_bin
FROM per_entity AS e
LEFT JOIN bins AS b ON b.metric = e.metric AND b.entity = e.entity
ORDER BY e.metric, e.entity
