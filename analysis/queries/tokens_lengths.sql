-- Value counts of input and output lengths: the exact distribution of one trace in as many
-- rows as there are distinct lengths, from which quantiles, CDFs and fit samples are drawn.
-- Outputs of unfinished requests are left out (see tokens_excluded.sql).
SELECT side, tokens, COUNT(*) AS n
FROM (
    SELECT 'input' AS side, input_tokens AS tokens
    FROM requests
    WHERE trace = $trace AND input_tokens IS NOT NULL
    UNION ALL
    SELECT 'output' AS side, output_tokens AS tokens
    FROM requests
    WHERE trace = $trace AND output_tokens IS NOT NULL
      AND status NOT IN ('failed', 'cancelled', 'timeout', 'killed', 'evicted')
) AS lengths
GROUP BY side, tokens
ORDER BY side, tokens
