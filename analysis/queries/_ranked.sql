-- Fragment, included in a CTE (`ranked AS (` + its name in double braces + `)`): the rows of the CTE `to_rank` (column x; NULLs
-- dropped) with their 1-based rank in ascending x (rn) and the x of the row before (prev_x,
-- NULL for the first), without a window over all rows. x's range is cut into 1024 equal
-- buckets; ranks and predecessors are found inside each bucket, in parallel, and a small window
-- over the bucket totals stitches the buckets together. A window over all rows
-- (`LAG(x) OVER (ORDER BY x)`) puts every row into one Spark task, which ran out of memory at
-- 100M requests; one bucket can still hold most rows when x is extremely skewed.
WITH span AS (
    SELECT MIN(x) AS lo, MAX(x) - MIN(x) AS width FROM to_rank
),
binned AS (
    SELECT
        r.x,
        CASE
            WHEN s.width > 0 THEN CAST(FLOOR((r.x - s.lo) / s.width * 1023) AS BIGINT)
            ELSE 0
        END AS b
    FROM to_rank AS r
    CROSS JOIN span AS s
    WHERE r.x IS NOT NULL
),
in_bucket AS (
    SELECT
        b,
        x,
        LAG(x) OVER (PARTITION BY b ORDER BY x) AS prev_in_b,
        ROW_NUMBER() OVER (PARTITION BY b ORDER BY x) AS rn_in_b
    FROM binned
),
buckets AS (
    SELECT b, MAX(x) AS last_x, COUNT(*) AS c FROM binned GROUP BY b
),
edges AS (
    SELECT
        b,
        LAG(last_x) OVER (ORDER BY b) AS prev_last,
        COALESCE(SUM(c) OVER (ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
            AS before
    FROM buckets
)
SELECT
    i.x,
    CAST(e.before + i.rn_in_b AS BIGINT) AS rn,
    CASE WHEN i.rn_in_b = 1 THEN e.prev_last ELSE i.prev_in_b END AS prev_x
FROM in_bucket AS i
JOIN edges AS e ON e.b = i.b
