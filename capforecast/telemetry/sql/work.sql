-- The size of what the demand and utilization queries would build, counted before they
-- run (a log of a few kilobytes can name years of hours on thousands of nodes): the
-- rows of the demand grid (groups x buckets) and, at most, the node-hours of node_load
-- (each SKU and node, from the hour its first job starts to its last job's end).
-- Parameters: $grain, $step_s, $window_start, $window_end.
WITH groups AS (SELECT DISTINCT org, team, workload, sku, region FROM jobs_clean),
spans AS (
    SELECT sku, CASE WHEN node = '' THEN [''] ELSE string_split(node, ',') END AS nodes,
           GREATEST(start_time, $window_start) AS t0,
           LEAST(COALESCE(end_time, $window_end), $window_end) AS t1
    FROM jobs_clean
    WHERE start_time IS NOT NULL AND gpus > 0
),
nodes AS (
    SELECT sku, node, date_trunc('hour', min(t0)) AS t0, max(t1) AS t1
    FROM (SELECT sku, trim(unnest(nodes)) AS node, t0, t1 FROM spans WHERE t1 > t0)
    GROUP BY ALL
)
SELECT (SELECT COUNT(*) FROM groups)
           * ceil(epoch($window_end - date_trunc($grain, $window_start)) / $step_s)
           AS demand_rows,
       (SELECT COALESCE(SUM(ceil(epoch(t1 - t0) / 3600)), 0) FROM nodes) AS node_hours
