-- Distinct machine configurations of one trace's inventory (class and capacities) with the
-- machines of each: how heterogeneous the fleet is.
WITH machines AS (
    {{_capacity}}
)
SELECT kind, cpus, gpus, mem_gb, mem_normalized, nodes, COUNT(*) AS machines
FROM machines
GROUP BY kind, cpus, gpus, mem_gb, mem_normalized, nodes
ORDER BY machines DESC, kind, cpus, gpus, mem_gb
