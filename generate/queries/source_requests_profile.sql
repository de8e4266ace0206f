-- What a trace's requests hold: it decides which formats the trace can feed (tokens for the
-- LLM formats, arrival times for all) and how its contents are drawn (sessions, prefix blocks).
SELECT
    COUNT(*) AS rows,
    COUNT(ts) AS timed,
    COUNT(*) FILTER (
        WHERE ts IS NOT NULL AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL
    ) AS with_tokens,
    COUNT(*) FILTER (WHERE ts IS NOT NULL AND hash_ids IS NOT NULL) AS with_hash_ids,
    MAX(hash_block_tokens) AS hash_block_tokens,
    COUNT(*) FILTER (WHERE ts IS NOT NULL AND session IS NOT NULL) AS with_session,
    COUNT(duration_s) AS with_duration,
    epoch_us(MIN(ts)) AS first_us,
    epoch_us(MAX(ts)) AS last_us
FROM requests
WHERE trace = $trace
