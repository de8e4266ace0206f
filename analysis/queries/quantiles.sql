-- Quantiles $qs (a list such as [0.5, 0.9]) of x per (grp, part), with the count, exact mean,
-- min and max, over `quantile_input`: rows (grp, part, x) selected by the caller's query, which
-- `LakeDB.quantiles` puts in front of this one (grp and part never NULL). Quantiles interpolate
-- linearly between order statistics (as PERCENTILE_CONT and numpy's default do), found from the
-- value counts and their running sum: a GROUP BY and a sort of the distinct values, both of
-- which spill to disk, where PERCENTILE_CONT holds every row in memory (it ran DuckDB out of its
-- 1 GB at 50M requests). The mean sums DECIMALs: exact, so the same whatever order threads add
-- rows in. One row per (grp, part, q).
WITH counted AS (
    SELECT grp, part, x, COUNT(*) AS c, SUM(CAST(x AS DECIMAL(38, 18))) AS s
    FROM quantile_input
    WHERE x IS NOT NULL
    GROUP BY grp, part, x
),
groups AS (
    SELECT
        grp,
        part,
        CAST(SUM(c) AS BIGINT) AS n,
        -- DOUBLE before dividing, as DuckDB does: Spark would divide DECIMALs at a fixed scale
        CAST(SUM(s) AS DOUBLE) / SUM(c) AS mean,
        MIN(x) AS x_min,
        MAX(x) AS x_max
    FROM counted
    GROUP BY grp, part
),
ranked AS (
    SELECT
        grp,
        part,
        x,
        CAST(
            SUM(c) OVER (PARTITION BY grp, part ORDER BY x ROWS UNBOUNDED PRECEDING) - c
            AS DOUBLE
        ) AS first_r,
        CAST(
            SUM(c) OVER (PARTITION BY grp, part ORDER BY x ROWS UNBOUNDED PRECEDING) - 1
            AS DOUBLE
        ) AS last_r,
        CAST(SUM(c) OVER (PARTITION BY grp, part) - 1 AS DOUBLE) AS m
    FROM counted
),
wanted AS (
    SELECT UNNEST($qs) AS q
),
-- the order statistics either side of rank m * q (0-based), for every wanted q
picked AS (
    SELECT
        r.grp,
        r.part,
        w.q,
        MAX(r.m) AS m,
        MAX(CASE WHEN FLOOR(r.m * w.q) BETWEEN r.first_r AND r.last_r THEN r.x END) AS lo,
        MAX(CASE WHEN CEIL(r.m * w.q) BETWEEN r.first_r AND r.last_r THEN r.x END) AS hi
    FROM ranked AS r
    CROSS JOIN wanted AS w
    WHERE FLOOR(r.m * w.q) BETWEEN r.first_r AND r.last_r
       OR CEIL(r.m * w.q) BETWEEN r.first_r AND r.last_r
    GROUP BY r.grp, r.part, w.q
)
SELECT
    g.grp,
    g.part,
    g.n,
    g.mean,
    g.x_min,
    g.x_max,
    p.q,
    p.lo + (p.m * p.q - FLOOR(p.m * p.q)) * (p.hi - p.lo) AS value
FROM groups AS g
JOIN picked AS p ON p.grp = g.grp AND p.part = g.part
ORDER BY g.grp, g.part, p.q
