-- Do requests traces $a and $b hold the same requests? Rows are matched as multisets, so order
-- and row layout do not matter: by (input tokens, output tokens), and by those plus the arrival
-- offset from each trace's first request in whole steps of $res_s seconds (the coarser clock of
-- the two; a derived copy re-anchors time, so absolute times differ while offsets survive). The
-- offset is rounded to whole microseconds first: epoch seconds as a double carry ~0.2 us of
-- error at today's dates, far below half a microsecond. A row matches at most once (the smaller
-- count of equal keys). Untimed traces match on tokens only.
WITH a AS (
    SELECT r.input_tokens, r.output_tokens, EXTRACT(EPOCH FROM r.ts) - f.first AS offset_s
    FROM requests AS r
    CROSS JOIN (SELECT MIN(EXTRACT(EPOCH FROM ts)) AS first FROM requests WHERE trace = $a) AS f
    WHERE r.trace = $a
),
b AS (
    SELECT r.input_tokens, r.output_tokens, EXTRACT(EPOCH FROM r.ts) - f.first AS offset_s
    FROM requests AS r
    CROSS JOIN (SELECT MIN(EXTRACT(EPOCH FROM ts)) AS first FROM requests WHERE trace = $b) AS f
    WHERE r.trace = $b
),
tokens_a AS (
    SELECT input_tokens, output_tokens, COUNT(*) AS n FROM a GROUP BY input_tokens, output_tokens
),
tokens_b AS (
    SELECT input_tokens, output_tokens, COUNT(*) AS n FROM b GROUP BY input_tokens, output_tokens
),
timed_a AS (
    SELECT input_tokens, output_tokens, CAST(ROUND(ROUND(offset_s * 1000000) / ($res_s * 1000000)) AS BIGINT) AS step, COUNT(*) AS n
    FROM a
    WHERE offset_s IS NOT NULL
    GROUP BY input_tokens, output_tokens, CAST(ROUND(ROUND(offset_s * 1000000) / ($res_s * 1000000)) AS BIGINT)
),
timed_b AS (
    SELECT input_tokens, output_tokens, CAST(ROUND(ROUND(offset_s * 1000000) / ($res_s * 1000000)) AS BIGINT) AS step, COUNT(*) AS n
    FROM b
    WHERE offset_s IS NOT NULL
    GROUP BY input_tokens, output_tokens, CAST(ROUND(ROUND(offset_s * 1000000) / ($res_s * 1000000)) AS BIGINT)
),
same_tokens AS (
    SELECT CAST(SUM(LEAST(x.n, y.n)) AS BIGINT) AS matched
    FROM tokens_a AS x
    JOIN tokens_b AS y ON x.input_tokens = y.input_tokens AND x.output_tokens = y.output_tokens
),
same_arrivals AS (
    SELECT CAST(SUM(LEAST(x.n, y.n)) AS BIGINT) AS matched
    FROM timed_a AS x
    JOIN timed_b AS y
        ON x.input_tokens = y.input_tokens AND x.output_tokens = y.output_tokens AND x.step = y.step
)
SELECT
    (SELECT COUNT(*) FROM a) AS rows_a,
    (SELECT COUNT(*) FROM b) AS rows_b,
    (SELECT COUNT(offset_s) FROM a) AS timed_a,
    (SELECT COUNT(offset_s) FROM b) AS timed_b,
    COALESCE(t.matched, 0) AS same_tokens,
    COALESCE(s.matched, 0) AS same_arrivals
FROM same_tokens AS t
CROSS JOIN same_arrivals AS s
