-- Recorded cold starts of one trace per time bin: count and mean total time. The bin is the
-- shortest of 1 min .. 1 week giving at most $max_bins bins; bin_start is in seconds since the
-- epoch, aligned to the bin width.
WITH base AS (
    SELECT EXTRACT(EPOCH FROM ts) AS t, total_s
    FROM cold_starts
    WHERE trace = $trace AND ts IS NOT NULL
),
pick AS (
    {{_bin_width}}
),
binned AS (
    SELECT p.bin_s, FLOOR(b.t / p.bin_s) * p.bin_s AS bin_start, b.total_s
    FROM base AS b CROSS JOIN pick AS p
)
SELECT bin_s, bin_start, COUNT(*) AS n, AVG(total_s) AS mean_s
FROM binned
GROUP BY bin_s, bin_start
ORDER BY bin_start
