-- Each function's published execution times (the Azure Functions 2019 durations files), one row
-- per function and day, back in the release's own columns and unit: a generated workload copies
-- its functions' rows into the durations.csv invitro reads. The adapter stored seconds;
-- x / 1000 * 1000 can miss by an ulp, so ms are rounded to the nanosecond.
SELECT
    coalesce(tenant, '') AS HashOwner,
    coalesce(service, '') AS HashApp,
    coalesce(entity, '') AS HashFunction,
    coalesce(CAST(json_extract(extra, '$.day') AS INTEGER), 1) AS day,
    round(max(value) FILTER (WHERE stat = 'mean') * 1000, 6) AS Average,
    CAST(max(value) FILTER (WHERE stat = 'count') AS BIGINT) AS Count,
    round(max(value) FILTER (WHERE stat = 'min') * 1000, 6) AS Minimum,
    round(max(value) FILTER (WHERE stat = 'max') * 1000, 6) AS Maximum,
    round(max(value) FILTER (WHERE stat = 'p0') * 1000, 6) AS percentile_Average_0,
    round(max(value) FILTER (WHERE stat = 'p1') * 1000, 6) AS percentile_Average_1,
    round(max(value) FILTER (WHERE stat = 'p25') * 1000, 6) AS percentile_Average_25,
    round(max(value) FILTER (WHERE stat = 'p50') * 1000, 6) AS percentile_Average_50,
    round(max(value) FILTER (WHERE stat = 'p75') * 1000, 6) AS percentile_Average_75,
    round(max(value) FILTER (WHERE stat = 'p99') * 1000, 6) AS percentile_Average_99,
    round(max(value) FILTER (WHERE stat = 'p100') * 1000, 6) AS percentile_Average_100
FROM summaries
WHERE trace = $trace AND metric = 'duration_s'
GROUP BY ALL
ORDER BY HashOwner, HashApp, HashFunction, day
