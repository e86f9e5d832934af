-- Per SKU, site and hour: GPU-hours free on nodes while some of their GPUs are allocated
-- (free GPUs a job needing a whole node cannot use), and how many such nodes. Only the part
-- of an hour inside the window counts. Parameters: $window_start, $window_end.
WITH load AS (
    SELECT node, hour, fsum(gpu_hours) AS allocated,
           epoch(LEAST(hour + INTERVAL 1 HOUR, $window_end) - GREATEST(hour, $window_start))
               / 3600 AS covered
    FROM node_load
    WHERE node <> ''
    GROUP BY node, hour
)
SELECT i.sku, i.site, l.hour,
       fsum(i.gpus * l.covered - l.allocated)
           FILTER (WHERE l.allocated < i.gpus * l.covered - 1e-9) AS stranded_gpus,
       COUNT(*) FILTER (WHERE l.allocated < i.gpus * l.covered - 1e-9) AS partial_nodes
FROM load l
JOIN inventory_clean i USING (node)
GROUP BY ALL
ORDER BY i.sku, i.site, l.hour
