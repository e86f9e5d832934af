-- Queue waits of the clean jobs submitted in the window, per workload and SKU, per
-- workload and over all: hours from submission to start, as percentiles over the jobs
-- that started in the window; jobs cancelled while queued and jobs still queued at its end
-- (with the GPUs they ask for) are counted apart. Parameters: $window_start, $window_end.
WITH submitted AS (
    SELECT workload, sku, gpus,
           CASE WHEN start_time < $window_end
                THEN epoch(start_time - submit_time) / 3600 END AS wait_h,
           (start_time IS NULL OR start_time >= $window_end)
               AND COALESCE(end_time < $window_end, FALSE) AS cancelled
    FROM jobs_clean
    WHERE submit_time >= $window_start AND submit_time < $window_end
)
SELECT CASE WHEN GROUPING(workload) = 1 THEN '(all)' ELSE workload END AS workload,
       CASE WHEN GROUPING(sku) = 1 THEN '(all)' ELSE sku END AS sku,
       COUNT(*) AS jobs,
       COUNT(wait_h) AS started,
       COUNT(*) FILTER (WHERE cancelled) AS cancelled,
       COUNT(*) FILTER (WHERE wait_h IS NULL AND NOT cancelled) AS still_queued,
       COALESCE(fsum(gpus) FILTER (WHERE wait_h IS NULL AND NOT cancelled), 0)
           AS still_queued_gpus,
       quantile_cont(wait_h, 0.5) AS p50_wait_h,
       quantile_cont(wait_h, 0.9) AS p90_wait_h,
       quantile_cont(wait_h, 0.99) AS p99_wait_h,
       MAX(wait_h) AS max_wait_h,
       fsum(wait_h) / COUNT(wait_h) AS mean_wait_h
FROM submitted
GROUP BY GROUPING SETS ((workload, sku), (workload), ())
ORDER BY GROUPING(workload), GROUPING(sku), workload, sku
