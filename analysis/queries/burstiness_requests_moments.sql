-- Sum and sum of squares of the arrival counts of one trace's requests (requests.ts) over $bins
-- bins of $bin_s seconds from $t0 (epoch s), for the index of dispersion at windows too fine
-- to hand to Python bin by bin. Empty bins add nothing to either sum.
-- $service and $tenant: one group only (NULL = all).
SELECT COUNT(*) AS nonempty,
       SUM(events) AS total,
       SUM(events * events) AS total_sq
FROM (
    SELECT bin, COUNT(*) AS events
    FROM (
        SELECT FLOOR((EXTRACT(EPOCH FROM ts) - $t0 + $half_tick) / $bin_s) AS bin
        FROM requests
        WHERE trace = $trace AND ts IS NOT NULL
        AND ($service IS NULL OR service = $service)
        AND ($tenant IS NULL OR tenant = $tenant)
    ) binned
    WHERE bin >= 0 AND bin < $bins
    GROUP BY bin
) counts
