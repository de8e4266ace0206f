-- Fragment: one row per machine (entity) of one trace's capacity summaries (stat 'capacity'),
-- with its class (kind: GPU model or machine type) and its capacities side by side. A trace's
-- machines carry some of these metrics: cores (cpus), GPUs (gpus), memory (mem_gb, or
-- mem_normalized where the release scales memory to its largest machine), nodes.
SELECT
    entity,
    MAX(kind) AS kind,
    MAX(CASE WHEN metric = 'cpus' THEN value END) AS cpus,
    MAX(CASE WHEN metric = 'gpus' THEN value END) AS gpus,
    MAX(CASE WHEN metric = 'mem_gb' THEN value END) AS mem_gb,
    MAX(CASE WHEN metric = 'mem_normalized' THEN value END) AS mem_normalized,
    MAX(CASE WHEN metric = 'nodes' THEN value END) AS nodes
FROM summaries
WHERE trace = $trace AND stat = 'capacity' AND entity IS NOT NULL
GROUP BY entity
