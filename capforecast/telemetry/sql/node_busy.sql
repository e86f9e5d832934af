-- How busy each node's allocated GPUs were in each hour: the node's mean GPU utilization
-- (a fraction) times its GPU-hours in the window, over the GPU-hours allocated on it, at
-- most 1. Unallocated GPUs are taken to be idle, so all of a node's busy time belongs to
-- the jobs on it.
WITH load AS (
    SELECT node, hour, fsum(gpu_hours) AS allocated
    FROM job_hours
    WHERE node <> ''
    GROUP BY ALL
)
SELECT l.node, l.hour, LEAST(1.0, u.util * i.gpus * u.covered / l.allocated) AS busy_fraction
FROM load l
JOIN node_util u USING (node, hour)
JOIN inventory_clean i USING (node)
WHERE l.allocated > 0
