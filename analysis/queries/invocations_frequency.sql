-- Invocations per application ($level = 'app') or function ($level = 'function') of one trace,
-- from $source (requests or series, in the invocations view), with the span of the whole trace
-- (first arrival to the end of the last row's time), so that rates are per unit of the trace's
-- time and an entity invoked once counts as rarely invoked, not as busy for an instant.
WITH inv AS (
    SELECT app, func, t, n, until_s
    FROM invocations
    WHERE source = $source AND trace = $trace
),
span AS (
    SELECT MAX(until_s) - MIN(t) AS span_s FROM inv
)
SELECT
    CASE WHEN $level = 'app' THEN COALESCE(i.app, '') ELSE COALESCE(i.app, '') || '/' || i.func END
        AS entity,
    SUM(i.n) AS invocations,
    COUNT(*) AS active_rows,
    s.span_s
FROM inv AS i CROSS JOIN span AS s
GROUP BY 1, s.span_s
ORDER BY invocations DESC, entity
