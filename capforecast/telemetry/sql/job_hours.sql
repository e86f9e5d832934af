-- The GPU-hours each clean job held on each of its nodes in each hour of the window. A job
-- on several nodes (node = 'n1,n2') holds an equal share of its GPUs on each; a job that
-- names no node has node ''. Parameters: $window_start, $window_end.
WITH spans AS (
    SELECT org, team, workload, sku, region, gpus,
           CASE WHEN node = '' THEN [''] ELSE string_split(node, ',') END AS nodes,
           GREATEST(start_time, $window_start) AS t0,
           LEAST(COALESCE(end_time, $window_end), $window_end) AS t1
    FROM jobs_clean
    WHERE start_time IS NOT NULL
),
placed AS (
    SELECT org, team, workload, sku, region, gpus / len(nodes) AS gpus, t0, t1,
           trim(unnest(nodes)) AS node
    FROM spans
    WHERE t1 > t0 AND gpus > 0
),
pieces AS (
    SELECT *, unnest(range(date_trunc('hour', t0), t1, INTERVAL 1 HOUR)) AS hour
    FROM placed
)
SELECT org, team, workload, sku, region, node, hour,
       fsum(gpus * epoch(LEAST(t1, hour + INTERVAL 1 HOUR) - GREATEST(t0, hour)) / 3600)
           AS gpu_hours
FROM pieces
GROUP BY ALL
