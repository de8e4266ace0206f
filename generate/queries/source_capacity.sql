-- The machine a job trace ran on, as its capacity summaries state it (SWF's MaxProcs and
-- MaxNodes): a generated SWF log carries them in its header.
SELECT entity, metric, value
FROM summaries
WHERE trace = $trace AND stat = 'capacity' AND metric IN ('cpus', 'nodes')
ORDER BY metric, entity
