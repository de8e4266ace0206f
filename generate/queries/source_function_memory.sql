-- Each function's (or app's) published committed memory (the Azure Functions 2019 memory files),
-- one row per function or app and day, back in the release's columns and unit (MB: the adapter
-- stored GB of 1024 MB, so the values come back exactly). The original release is per app
-- (HashFunction NULL here: the writer shares an app's row among its functions, as invitro's
-- sampler does); the sampler's own variant is already per function.
SELECT
    CASE WHEN json_extract_string(extra, '$.scope') = 'app' THEN NULL
         ELSE coalesce(entity, '') END AS HashFunction,
    coalesce(tenant, '') AS HashOwner,
    coalesce(service, '') AS HashApp,
    coalesce(CAST(json_extract(extra, '$.day') AS INTEGER), 1) AS day,
    CAST(max(value) FILTER (WHERE stat = 'count') AS BIGINT) AS SampleCount,
    max(value) FILTER (WHERE stat = 'mean') * 1024 AS AverageAllocatedMb,
    max(value) FILTER (WHERE stat = 'p1') * 1024 AS AverageAllocatedMb_pct1,
    max(value) FILTER (WHERE stat = 'p5') * 1024 AS AverageAllocatedMb_pct5,
    max(value) FILTER (WHERE stat = 'p25') * 1024 AS AverageAllocatedMb_pct25,
    max(value) FILTER (WHERE stat = 'p50') * 1024 AS AverageAllocatedMb_pct50,
    max(value) FILTER (WHERE stat = 'p75') * 1024 AS AverageAllocatedMb_pct75,
    max(value) FILTER (WHERE stat = 'p95') * 1024 AS AverageAllocatedMb_pct95,
    max(value) FILTER (WHERE stat = 'p99') * 1024 AS AverageAllocatedMb_pct99,
    max(value) FILTER (WHERE stat = 'p100') * 1024 AS AverageAllocatedMb_pct100
FROM summaries
WHERE trace = $trace AND metric = 'mem_gb'
GROUP BY ALL
ORDER BY HashOwner, HashApp, HashFunction NULLS FIRST, day
