-- Prefix (KV-cache) blocks per arrival-time bucket of $bucket_s seconds from $t0, and how many
-- of them appear for the first time in the trace. With an infinite cache every occurrence of a
-- block after its first is a hit, so hits = blocks - new_blocks: an upper bound on the
-- prefix-cache hit rate. Requests arriving at the same instant fall in the same bucket, so
-- which of them counts the first sight does not change the counts. Requests without a
-- timestamp go to bucket 0.
WITH blocks AS (
    SELECT COALESCE(FLOOR((EXTRACT(EPOCH FROM r.ts) - $t0) / $bucket_s), 0) AS bucket, u.h
    FROM requests AS r
    CROSS JOIN UNNEST(r.hash_ids) AS u(h)
    WHERE r.trace = $trace
),
per_bucket AS (SELECT bucket, COUNT(*) AS blocks FROM blocks GROUP BY bucket),
first_seen AS (SELECT h, MIN(bucket) AS bucket FROM blocks GROUP BY h),
fresh AS (SELECT bucket, COUNT(*) AS new_blocks FROM first_seen GROUP BY bucket)
SELECT
    per_bucket.bucket,
    per_bucket.blocks,
    COALESCE(fresh.new_blocks, 0) AS new_blocks
FROM per_bucket
LEFT JOIN fresh ON per_bucket.bucket = fresh.bucket
ORDER BY per_bucket.bucket
