-- Per node and hour with jobs on it: GPUs free on the node while some are allocated (free
-- GPUs a job needing a whole node cannot use). Parameters: none (reads job_hours).
WITH load AS (
    SELECT node, hour, fsum(gpu_hours) AS allocated
    FROM job_hours
    WHERE node <> ''
    GROUP BY ALL
)
SELECT i.sku, i.site, l.hour,
       fsum(i.gpus - l.allocated) FILTER (WHERE l.allocated < i.gpus - 1e-9) AS stranded_gpus,
       COUNT(*) FILTER (WHERE l.allocated < i.gpus - 1e-9) AS partial_nodes
FROM load l
JOIN inventory_clean i USING (node)
GROUP BY ALL
ORDER BY i.sku, i.site, l.hour
