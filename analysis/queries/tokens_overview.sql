-- What one trace records about token lengths: how many requests carry input/output counts,
-- services, sessions and prefix hashes, and the time span (epoch seconds) of those requests.
SELECT
    COUNT(*) AS requests,
    COUNT(input_tokens) AS with_input,
    COUNT(output_tokens) AS with_output,
    COUNT(DISTINCT service) AS services,
    COUNT(session) AS with_session,
    COUNT(hash_ids) AS with_hash_ids,
    MAX(hash_block_tokens) AS hash_block_tokens,
    MIN(EXTRACT(EPOCH FROM ts)) AS t_min,
    MAX(EXTRACT(EPOCH FROM ts)) AS t_max
FROM requests
WHERE trace = $trace
  AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL)
