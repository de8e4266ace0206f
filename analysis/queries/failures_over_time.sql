-- Rows of one trace from $source (requests or jobs, in the arrivals view) per time bin and final
-- status. A row's time is its arrival (for jobs: submission, else start, else end). The bin is
-- the shortest of 1 min .. 1 week giving at most $max_bins bins; bin_start is in seconds since
-- the epoch, aligned to the bin width.
WITH base AS (
    SELECT status, EXTRACT(EPOCH FROM event_ts) AS t
    FROM arrivals
    WHERE source = $source AND trace = $trace
),
pick AS (
    {{_bin_width}}
),
binned AS (
    SELECT p.bin_s, FLOOR(b.t / p.bin_s) * p.bin_s AS bin_start, b.status
    FROM base AS b CROSS JOIN pick AS p
    WHERE b.t IS NOT NULL
)
SELECT bin_s, bin_start, status, COUNT(*) AS n
FROM binned
GROUP BY bin_s, bin_start, status
ORDER BY bin_start, status
