-- The median call time of every operator of one subject of one trace's GPU profiles against
-- batch tokens (repeated configurations averaged), for the time-against-tokens figure.
SELECT
    benchmark AS operator,
    CAST(extra ->> 'num_tokens' AS BIGINT) AS tokens,
    AVG(value) AS t
FROM measurements
WHERE trace = $trace AND subject = $subject AND metric = 'median'
    AND extra ->> 'num_tokens' IS NOT NULL
GROUP BY benchmark, CAST(extra ->> 'num_tokens' AS BIGINT)
ORDER BY operator, tokens
