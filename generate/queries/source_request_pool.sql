-- The requests whose contents are resampled: token pair, kind, outcome and duration, with the
-- service code; only requests with both token counts when $need_tokens. A trace of more than
-- POOL_MAX requests is thinned to about that many by a hash of the row ($per_million of a
-- million; seeded, so the same seed reads the same pool on any number of threads). The sort
-- makes row i the same row on every run.
WITH services AS (
    {{_service_codes}}
)
SELECT
    CAST(s.code AS INTEGER) AS service,
    r.kind,
    r.input_tokens,
    r.output_tokens,
    r.duration_s,
    r.status
FROM requests AS r
JOIN services AS s ON r.service IS NOT DISTINCT FROM s.service
WHERE r.trace = $trace AND r.ts IS NOT NULL
  AND (NOT $need_tokens OR (r.input_tokens IS NOT NULL AND r.output_tokens IS NOT NULL))
  AND (
      $every
      OR hash(epoch_us(r.ts), r.input_tokens, r.output_tokens, $seed) % 1000000 < $per_million
  )
ORDER BY r.ts, s.code, r.input_tokens, r.output_tokens, r.kind, r.duration_s, r.status
