-- Requests with both token counts, for the output-length predictor: one trace ($trace).
-- Timed traces in arrival order; untimed ones in a fixed pseudo-random order (hash of the
-- row), so that "the last 30% of rows" is a random, reproducible test set.
SELECT
    ts,
    epoch_us(ts) AS ts_us,
    service,
    tenant,
    session,
    kind,
    input_tokens,
    output_tokens,
    hash_ids,
    hash_block_tokens
FROM requests
WHERE trace = $trace
  AND input_tokens IS NOT NULL
  AND output_tokens IS NOT NULL
  AND status IN ('ok', 'unknown')
ORDER BY
    ts NULLS LAST,
    CASE WHEN ts IS NULL THEN hash(input_tokens, output_tokens, service, kind) END,
    input_tokens,
    output_tokens
