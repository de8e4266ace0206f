-- Value counts of input and output lengths for the $top busiest services (ties by name),
-- so the breakdown stays small however many services a trace has.
WITH top_services AS (
    SELECT service
    FROM requests
    WHERE trace = $trace AND service IS NOT NULL
      AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL)
    GROUP BY service
    ORDER BY COUNT(*) DESC, service
    LIMIT $top
),
picked AS (
    SELECT service, input_tokens, output_tokens, status
    FROM requests
    WHERE trace = $trace AND service IN (SELECT service FROM top_services)
)
SELECT service, side, tokens, COUNT(*) AS n
FROM (
    SELECT service, 'input' AS side, input_tokens AS tokens
    FROM picked
    WHERE input_tokens IS NOT NULL
    UNION ALL
    SELECT service, 'output' AS side, output_tokens AS tokens
    FROM picked
    WHERE output_tokens IS NOT NULL
      AND status NOT IN ('failed', 'cancelled', 'timeout', 'killed', 'evicted')
) AS lengths
GROUP BY service, side, tokens
ORDER BY service, side, tokens
