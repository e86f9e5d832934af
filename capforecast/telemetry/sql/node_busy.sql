-- How busy each node's allocated GPUs were in each hour: the node's mean GPU utilization
-- (a fraction) times its GPU-hours in the window, over the GPU-hours allocated on it, at
-- most 1. Unallocated GPUs are taken to be idle, so all of a node's busy time belongs to
-- the jobs on it. busy_before and measured_before sum busy_fraction and count the hours
-- over the node's earlier rows: a job's busy GPU-hours are then its GPUs times the
-- difference of that running sum between its end and its start (team_use.sql).
WITH load AS (
    SELECT node, hour, fsum(gpu_hours) AS allocated
    FROM node_load
    WHERE node <> ''
    GROUP BY ALL
),
busy AS (
    SELECT l.node, l.hour, LEAST(1.0, u.util * i.gpus * u.covered / l.allocated) AS busy_fraction
    FROM load l
    JOIN node_util u USING (node, hour)
    JOIN inventory_clean i USING (node)
)
SELECT node, hour, busy_fraction,
       COALESCE(fsum(busy_fraction) OVER before, 0) AS busy_before,
       COUNT(*) OVER before AS measured_before
FROM busy
WINDOW before AS (PARTITION BY node ORDER BY hour ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
