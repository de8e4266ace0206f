-- Fragment: arrivals (see _arrival_times.sql) per bin of $bin_s seconds from $t0 (epoch s),
-- non-empty bins only, bins 0 .. $bins - 1. $half_tick (half the clock resolution) keeps float
-- error in epoch seconds from moving an arrival on a bin edge into the bin before. The bin
-- number is a BIGINT (the same whole number FLOOR gives): grouping millions of fine bins by an
-- integer key takes about two thirds of the time a DOUBLE key does.
SELECT bin, COUNT(*) AS events
FROM (
    SELECT CAST(FLOOR((t - $t0 + $half_tick) / $bin_s) AS BIGINT) AS bin
    FROM (
        {{_arrival_times}}
    ) AS arrival_times
) AS binned
WHERE bin >= 0 AND bin < $bins
GROUP BY bin
