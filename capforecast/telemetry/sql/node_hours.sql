-- At most the rows node_load.sql builds, counted before it runs (one job on thousands of
-- nodes for years would be billions): per SKU and node, the hours from the hour its first
-- span starts to its last span's end, from the table job_nodes (job_nodes.sql).
SELECT COALESCE(SUM(ceil(epoch(t1 - t0) / 3600)), 0) AS node_hours
FROM (
    SELECT sku, node, date_trunc('hour', min(t0)) AS t0, max(t1) AS t1
    FROM job_nodes
    GROUP BY ALL
)
