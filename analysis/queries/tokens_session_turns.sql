-- How many sessions have 1, 2, 3, ... requests (turns).
SELECT turns, COUNT(*) AS sessions
FROM (
    SELECT session, COUNT(*) AS turns
    FROM requests
    WHERE trace = $trace AND session IS NOT NULL
    GROUP BY session
) AS per_session
GROUP BY turns
ORDER BY turns
