-- Per group (org, team, workload, SKU, region): the GPU-hours allocated to its jobs, those
-- on nodes with utilization samples, and how many of those were busy.
SELECT org, team, workload, sku, region,
       fsum(gpu_hours) AS allocated_gpu_hours,
       COALESCE(fsum(gpu_hours) FILTER (WHERE b.busy_fraction IS NOT NULL), 0)
           AS measured_gpu_hours,
       COALESCE(fsum(gpu_hours * b.busy_fraction), 0) AS busy_gpu_hours
FROM job_hours
LEFT JOIN node_busy b USING (node, hour)
GROUP BY ALL
ORDER BY ALL
