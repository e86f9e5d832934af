-- The size of what the demand and utilization queries would build, counted before they
-- run (a log of a few kilobytes can name years of hours on thousands of nodes): the
-- rows of the demand grid (groups x buckets) and the job-node-hours of job_hours.
-- Parameters: $grain, $step_s, $window_start, $window_end.
WITH groups AS (SELECT DISTINCT org, team, workload, sku, region FROM jobs_clean),
spans AS (
    SELECT CASE WHEN node = '' THEN 1 ELSE len(string_split(node, ',')) END AS nodes,
           GREATEST(start_time, $window_start) AS t0,
           LEAST(COALESCE(end_time, $window_end), $window_end) AS t1
    FROM jobs_clean
    WHERE start_time IS NOT NULL
)
SELECT (SELECT COUNT(*) FROM groups)
           * ceil(epoch($window_end - date_trunc($grain, $window_start)) / $step_s)
           AS demand_rows,
       (SELECT COALESCE(SUM(nodes * (ceil(epoch(t1 - t0) / 3600) + 1)), 0)
        FROM spans WHERE t1 > t0) AS node_hours
