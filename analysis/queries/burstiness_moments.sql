-- Sum and sum of squares of the arrival counts of one trace from $source (requests or jobs, in
-- the arrivals view) over $bins bins of $bin_s seconds from $t0 (epoch s), for the index of
-- dispersion at windows too fine to hand to Python bin by bin. Empty bins add nothing to either
-- sum. $service, $tenant and $job_type: one group only (NULL = all). Sums as DECIMAL(38, 0), the
-- type DuckDB gives a sum of BIGINTs: Spark then sums the same type, without overflow.
SELECT COUNT(*) AS nonempty,
       SUM(CAST(events AS DECIMAL(38, 0))) AS total,
       SUM(CAST(events AS DECIMAL(38, 0)) * events) AS total_sq
FROM (
    {{_arrival_bins}}
) AS counts
