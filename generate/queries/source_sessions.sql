-- Requests of a session trace grouped into sessions, in arrival order inside each: a request
-- without a session is a session of its own. `start_us` is the session's first arrival and
-- `offset_us` each turn's delay from it. Sessions are resampled whole, so turns keep their
-- number, spacing and growing contexts. A trace of more than POOL_MAX requests is thinned by a
-- seeded hash of the session id.
WITH services AS (
    {{_service_codes}}
),
req AS (
    SELECT
        COALESCE(
            'session:' || r.session,
            'request:' || CAST(ROW_NUMBER() OVER (
                ORDER BY r.ts, r.input_tokens, r.output_tokens, r.service
            ) AS VARCHAR)
        ) AS sid,
        r.session IS NOT NULL AS in_session,
        epoch_us(r.ts) AS t_us,
        CAST(s.code AS INTEGER) AS service,
        r.kind,
        r.input_tokens,
        r.output_tokens,
        r.duration_s,
        r.status
    FROM requests AS r
    JOIN services AS s ON r.service IS NOT DISTINCT FROM s.service
    WHERE r.trace = $trace AND r.ts IS NOT NULL
),
starts AS (SELECT sid, MIN(t_us) AS start_us FROM req GROUP BY sid)
SELECT
    DENSE_RANK() OVER (ORDER BY starts.start_us, req.sid) - 1 AS unit,
    req.in_session,
    starts.start_us,
    req.t_us - starts.start_us AS offset_us,
    req.service,
    req.kind,
    req.input_tokens,
    req.output_tokens,
    req.duration_s,
    req.status
FROM req
JOIN starts ON req.sid = starts.sid
WHERE $every OR hash(req.sid, $seed) % 1000000 < $per_million
ORDER BY starts.start_us, req.sid, req.t_us, req.input_tokens, req.output_tokens
