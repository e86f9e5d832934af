-- Each clean job that ran in the window, once per node it ran on, clipped to the window:
-- a job on several nodes (node = 'n1,n2') holds an equal share of its GPUs on each; a job
-- that names no node has node ''. fraction is the share of its GPU request's fractional
-- part (0.5 of a 2.5-GPU request), fractional the share of one job when it has one.
-- Parameters: $window_start, $window_end.
WITH spans AS (
    SELECT org, team, workload, sku, region, gpus,
           CASE WHEN node = '' THEN [''] ELSE string_split(node, ',') END AS nodes,
           GREATEST(start_time, $window_start) AS t0,
           LEAST(COALESCE(end_time, $window_end), $window_end) AS t1
    FROM jobs_clean
    WHERE start_time IS NOT NULL
)
SELECT org, team, workload, sku, region, trim(unnest(nodes)) AS node,
       gpus / len(nodes) AS gpus,
       (gpus - floor(gpus)) / len(nodes) AS fraction,
       CASE WHEN gpus > floor(gpus) THEN 1.0 / len(nodes) ELSE 0.0 END AS fractional,
       t0, t1
FROM spans
WHERE t1 > t0 AND gpus > 0
