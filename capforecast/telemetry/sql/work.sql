-- The size of the demand grid (groups x buckets), counted before the demand query runs (a
-- log of a few kilobytes can name years of hours). Parameters: $grain, $step_s,
-- $window_start, $window_end.
WITH groups AS (SELECT DISTINCT org, team, workload, sku, region FROM jobs_clean)
SELECT (SELECT COUNT(*) FROM groups)
           * ceil(epoch($window_end - date_trunc($grain, $window_start)) / $step_s)
           AS demand_rows
