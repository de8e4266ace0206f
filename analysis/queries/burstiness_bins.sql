-- Arrivals of one trace from $source (requests or jobs, in the arrivals view) per bin of $bin_s
-- seconds from $t0 (epoch s), non-empty bins only, bins 0 .. $bins - 1 (see _arrival_bins.sql).
-- $service, $tenant and $job_type: one group only (NULL = all).
{{_arrival_bins}}
ORDER BY bin
