-- Requests that carry an input or output token count, per trace that has any: the `requests`
-- of tokens_overview.sql for every trace of the lake in one scan (which traces to offer).
SELECT trace, COUNT(*) AS requests
FROM requests
WHERE input_tokens IS NOT NULL OR output_tokens IS NOT NULL
GROUP BY trace
ORDER BY trace
