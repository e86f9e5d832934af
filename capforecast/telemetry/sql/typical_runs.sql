-- The median run time (seconds) of the finished clean jobs of each workload and SKU, and
-- (workload and sku NULL) of all of them: what a job that never ran is taken to ask for
-- when it names no time limit. A query of its own, materialized before demand.sql: a
-- median holds every value of its group, so it runs alone within the memory limit.
WITH finished AS (
    SELECT workload, sku, epoch(end_time - start_time) AS ran_s
    FROM jobs_clean
    WHERE start_time IS NOT NULL AND end_time IS NOT NULL
)
SELECT workload, sku, median(ran_s) AS ran_s FROM finished GROUP BY GROUPING SETS ((workload, sku), ())
