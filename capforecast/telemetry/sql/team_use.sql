-- Per group (org, team, workload, SKU, region): the GPU-hours allocated to its jobs, those
-- on nodes with utilization samples, and how many of those were busy. From the tables
-- job_nodes and node_busy: a span from t0 to t1 has busy GPU-hours gpus x (B(t1) - B(t0)),
-- B(t) being the node's busy fraction summed over its hours up to t (the part of t's own
-- hour up to t included), and measured ones likewise with 1 for each hour with samples.
WITH spans AS (
    SELECT *, date_trunc('hour', t0) AS h0, date_trunc('hour', t1) AS h1,
           epoch(t0 - date_trunc('hour', t0)) / 3600 AS f0,
           epoch(t1 - date_trunc('hour', t1)) / 3600 AS f1
    FROM job_nodes
),
ends AS (  -- B and its count at each end, from the node's latest busy hour up to it
    SELECT s.*,
           CASE WHEN a.hour IS NULL THEN 0
                WHEN a.hour = s.h0 THEN a.busy_before + a.busy_fraction * s.f0
                ELSE a.busy_before + a.busy_fraction END AS b0,
           CASE WHEN a.hour IS NULL THEN 0
                WHEN a.hour = s.h0 THEN a.measured_before + s.f0
                ELSE a.measured_before + 1 END AS m0,
           CASE WHEN b.hour IS NULL THEN 0
                WHEN b.hour = s.h1 THEN b.busy_before + b.busy_fraction * s.f1
                ELSE b.busy_before + b.busy_fraction END AS b1,
           CASE WHEN b.hour IS NULL THEN 0
                WHEN b.hour = s.h1 THEN b.measured_before + s.f1
                ELSE b.measured_before + 1 END AS m1
    FROM spans s
    ASOF LEFT JOIN node_busy a ON s.node = a.node AND s.h0 >= a.hour
    ASOF LEFT JOIN node_busy b ON s.node = b.node AND s.h1 >= b.hour
)
SELECT org, team, workload, sku, region,
       fsum(gpus * epoch(t1 - t0) / 3600) AS allocated_gpu_hours,
       fsum(gpus * (m1 - m0)) AS measured_gpu_hours,
       fsum(gpus * (b1 - b0)) AS busy_gpu_hours
FROM ends
GROUP BY ALL
ORDER BY ALL
