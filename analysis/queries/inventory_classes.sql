-- Capacity per machine class of one trace's inventory (kind: GPU model or machine type, NULL
-- when the release has none): machines, summed cores, GPUs, memory and nodes, and how many
-- machines report each (a release may leave a capacity out for some classes); the first
-- machine's name, which for a one-system log (SWF) names the system.
WITH machines AS (
    {{_capacity}}
)
SELECT
    kind,
    COUNT(*) AS machines,
    MIN(entity) AS first_machine,
    SUM(cpus) AS cpus,
    SUM(gpus) AS gpus,
    SUM(mem_gb) AS mem_gb,
    SUM(nodes) AS nodes,
    COUNT(cpus) AS with_cpus,
    COUNT(gpus) AS with_gpus,
    COUNT(mem_gb) AS with_mem_gb,
    COUNT(CASE WHEN gpus = 0 THEN 1 END) AS cpu_only
FROM machines
GROUP BY kind
ORDER BY machines DESC, kind
