-- Every prefix block id of every request of one trace, flattened: the reuse share is
-- 1 - distinct / total (see analysis/queries/tokens_prefix_reuse.sql).
SELECT u.h AS h
FROM requests AS r
CROSS JOIN UNNEST(r.hash_ids) AS u(h)
WHERE r.trace = $trace
