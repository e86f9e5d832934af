-- Per day, SKU and site: GPU-hours in service (inventory), allocated to jobs, busy among
-- the allocated, and busy among all in service (from utilization samples). A job's GPUs are
-- shared equally among its nodes, each at its node's site ('(unknown node)' when the job
-- names none or one the inventory lacks); with $by_site false (no job names a node) every
-- site is '(all)'. Parameters: $window_start, $window_end, $by_site.
WITH days AS (
    SELECT unnest(range(date_trunc('day', $window_start), $window_end, INTERVAL 1 DAY)) AS ds
),
inventory_days AS (
    SELECT d.ds, i.sku, CASE WHEN $by_site THEN i.site ELSE '(all)' END AS site,
           fsum(i.gpus * epoch(
               LEAST(d.ds + INTERVAL 1 DAY, $window_end, COALESCE(i.retired_at, $window_end))
               - GREATEST(d.ds, $window_start, COALESCE(i.in_service_from, $window_start))
           ) / 3600) AS inventory_gpu_hours
    FROM days d
    JOIN inventory_clean i
      ON COALESCE(i.in_service_from, $window_start) < LEAST(d.ds + INTERVAL 1 DAY, $window_end)
     AND COALESCE(i.retired_at, $window_end) > GREATEST(d.ds, $window_start)
    GROUP BY ALL
),
sampled AS (
    SELECT date_trunc('day', u.hour) AS ds, i.sku,
           CASE WHEN $by_site THEN i.site ELSE '(all)' END AS site,
           fsum(i.gpus * u.covered) AS sampled_gpu_hours,
           fsum(i.gpus * u.util * u.covered) AS fleet_busy_gpu_hours
    FROM node_util u
    JOIN inventory_clean i USING (node)
    GROUP BY ALL
),
allocated AS (
    SELECT date_trunc('day', j.hour) AS ds, j.sku,
           CASE WHEN NOT $by_site THEN '(all)' ELSE COALESCE(i.site, '(unknown node)') END AS site,
           fsum(j.gpu_hours) AS allocated_gpu_hours,
           COALESCE(fsum(j.gpu_hours) FILTER (WHERE b.busy_fraction IS NOT NULL), 0)
               AS measured_gpu_hours,
           COALESCE(fsum(j.gpu_hours * b.busy_fraction), 0) AS busy_gpu_hours
    FROM node_load j
    LEFT JOIN inventory_clean i USING (node)
    LEFT JOIN node_busy b USING (node, hour)
    GROUP BY ALL
)
SELECT ds, sku, site,
       COALESCE(v.inventory_gpu_hours, 0) AS inventory_gpu_hours,
       COALESCE(a.allocated_gpu_hours, 0) AS allocated_gpu_hours,
       COALESCE(a.measured_gpu_hours, 0) AS measured_gpu_hours,
       COALESCE(a.busy_gpu_hours, 0) AS busy_gpu_hours,
       COALESCE(s.sampled_gpu_hours, 0) AS sampled_gpu_hours,
       COALESCE(s.fleet_busy_gpu_hours, 0) AS fleet_busy_gpu_hours
FROM inventory_days v
FULL JOIN allocated a USING (ds, sku, site)
FULL JOIN sampled s USING (ds, sku, site)
ORDER BY sku, site, ds
