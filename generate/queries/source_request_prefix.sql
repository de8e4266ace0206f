-- Prefix reuse of each request, in arrival order: `reused` is how many of its leading blocks
-- (hash_ids) an earlier request already held, and `back` how many requests earlier the most
-- recent holder of the last of them arrived. With the token pair these are resampled jointly,
-- so a generated request reuses as long a prefix, from as far back, as a source request did.
-- Mooncake's ids chain (a block id stands for its whole prefix), so reused blocks are always
-- leading ones; the query still counts only the leading run.
WITH services AS (
    {{_service_codes}}
),
req AS (
    SELECT
        ROW_NUMBER() OVER (
            ORDER BY r.ts, r.input_tokens, r.output_tokens, r.hash_ids
        ) AS i,
        CAST(s.code AS INTEGER) AS service,
        r.kind,
        r.input_tokens,
        r.output_tokens,
        r.duration_s,
        r.status,
        r.hash_ids
    FROM requests AS r
    JOIN services AS s ON r.service IS NOT DISTINCT FROM s.service
    WHERE r.trace = $trace AND r.ts IS NOT NULL
      AND r.input_tokens IS NOT NULL AND r.output_tokens IS NOT NULL
),
blocks AS (
    SELECT i, UNNEST(hash_ids) AS h, generate_subscripts(hash_ids, 1) AS pos
    FROM req
    WHERE hash_ids IS NOT NULL
),
held AS (
    SELECT i, pos, LAG(i) OVER (PARTITION BY h ORDER BY i, pos) AS prev
    FROM blocks
),
runs AS (
    -- a block counts as reused when an earlier request held it
    SELECT
        i,
        COALESCE(MIN(pos) FILTER (WHERE prev IS NULL OR prev = i), MAX(pos) + 1) - 1 AS reused
    FROM held
    GROUP BY i
),
back AS (
    SELECT held.i, runs.reused, held.i - held.prev AS back
    FROM held
    JOIN runs ON held.i = runs.i AND held.pos = runs.reused
)
SELECT
    req.service,
    req.kind,
    req.input_tokens,
    req.output_tokens,
    req.duration_s,
    req.status,
    COALESCE(len(req.hash_ids), 0) AS blocks,
    COALESCE(runs.reused, 0) AS reused,
    COALESCE(back.back, 0) AS back
FROM req
LEFT JOIN runs ON req.i = runs.i
LEFT JOIN back ON req.i = back.i
ORDER BY req.i
