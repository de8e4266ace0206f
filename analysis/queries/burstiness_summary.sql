-- Arrivals of one trace from $source (requests or jobs, in the arrivals view): count, first and
-- last arrival in epoch seconds, and the moments of the gaps between consecutive arrivals.
-- $service, $tenant and $job_type: one group only (NULL = all). $tie_s: half a clock tick;
-- shorter gaps are two arrivals read in the same tick.
WITH to_rank AS (
    SELECT t AS x
    FROM (
        {{_arrival_times}}
    ) AS arrival_times
),
ranked AS (
    {{_ranked}}
),
gaps AS (
    SELECT x AS t, x - prev_x AS gap FROM ranked
)
SELECT COUNT(*) AS events,
       MIN(t) AS first_s,
       MAX(t) AS last_s,
       COUNT(gap) AS gaps,
       AVG(gap) AS gap_mean,
       STDDEV_SAMP(gap) AS gap_std,
       COUNT(CASE WHEN gap < $tie_s THEN 1 END) AS ties
FROM gaps
