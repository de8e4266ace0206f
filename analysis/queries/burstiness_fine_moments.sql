-- Sum and sum of squares of the arrival counts of one trace from $source (requests or jobs, in
-- the arrivals view) per window of each of $windows (seconds), over the complete windows of
-- $span_s seconds from $t0 (epoch s): the index of dispersion at windows too fine to hand to
-- Python bin by bin, every such window in one query. Counting arrivals per fine bin is a hash
-- aggregate over nearly as many bins as arrivals, once per window; here the arrivals are sorted
-- once (_ranked.sql) and each arrival compared with the one before: a bin's arrivals follow
-- each other, so a bin of c arrivals has c - 1 arrivals in the bin of their predecessor, and
-- the sum of c * c is the sum of c plus, over the few bins holding two arrivals or more,
-- (c - 1) * c. Bins and the complete-window count use the expressions of _arrival_bins.sql
-- and `burstiness._complete` ($slack: its 1e-9), so the sums are the same integers.
-- $service, $tenant and $job_type: one group only (NULL = all).
WITH to_rank AS (
    SELECT t AS x
    FROM (
        {{_arrival_times}}
    ) AS arrival_times
),
ranked AS (
    {{_ranked}}
),
windows AS (
    SELECT UNNEST($windows) AS w
),
window_bins AS (
    SELECT
        ws.w,
        CAST(FLOOR((r.x - $t0 + $half_tick) / ws.w) AS BIGINT) AS bin,
        CAST(FLOOR((r.prev_x - $t0 + $half_tick) / ws.w) AS BIGINT) AS prev_bin
    FROM ranked AS r
    CROSS JOIN windows AS ws
),
-- one row per window for the first arrival of each bin, one per repeated bin for the others
runs AS (
    SELECT w, repeated, COUNT(*) AS n
    FROM (
        SELECT w, CASE WHEN bin = prev_bin THEN bin END AS repeated
        FROM window_bins
        WHERE bin >= 0 AND bin < FLOOR($span_s / w + $slack)
    ) AS kept
    GROUP BY w, repeated
)
SELECT
    w,
    SUM(n) AS total,
    SUM(n) + SUM(CASE WHEN repeated IS NOT NULL THEN n * (n + 1) ELSE 0 END) AS total_sq
FROM runs
GROUP BY w
ORDER BY w
