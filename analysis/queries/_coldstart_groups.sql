-- Fragment: the recorded cold starts of trace $trace, each with grp, its group by $dim (all,
-- region, runtime or trigger; a NULL group is '(unknown)').
SELECT
    COALESCE(
        CASE $dim
            WHEN 'all' THEN 'all'
            WHEN 'region' THEN region
            WHEN 'runtime' THEN runtime
            WHEN 'trigger' THEN trigger
        END,
        '(unknown)'
    ) AS grp,
    *
FROM cold_starts
WHERE trace = $trace
