-- Demand per group and time bucket, as averages over the part of the bucket inside the
-- window, and the GPU-hours behind them; every group has a row for every bucket (zeros
-- included). From the clean job rows (view jobs_clean), three kinds of span per job:
--   in_use   from its start to its end (or the window's end);
--   pending  from its submission to its start (or, if it never started, to its end or the
--            window's end);
--   demand   its run moved back to its submission: from submit_time for as long as it ran
--            (end or window's end, minus start), what it asked for had nothing queued. A job
--            that never ran asks for its time_limit (the run time it requested) when the
--            log has one, else for the median run time of the finished jobs of its
--            workload and SKU (of all finished jobs when none), from its submission.
-- Fractional GPU requests count as the fraction. Parameters: $grain ('hour' or 'day'),
-- $step_s (its length in seconds), $window_start, $window_end, $workloads (only these
-- workloads; an empty list: all). Reads the table typical_runs (typical_runs.sql).
WITH typical AS (SELECT * FROM typical_runs WHERE workload IS NOT NULL),
overall AS (SELECT ran_s FROM typical_runs WHERE workload IS NULL),
wanted AS (
    SELECT * FROM jobs_clean WHERE len($workloads) = 0 OR list_contains($workloads, workload)
),
runs AS (  -- seconds each job that started ran, as far as the log tells
    SELECT *, epoch(COALESCE(end_time, GREATEST(start_time, $window_end)) - start_time) AS ran_s
    FROM wanted
    WHERE start_time IS NOT NULL
),
spans AS (
    SELECT org, team, workload, sku, region, gpus, 'in_use' AS kind,
           GREATEST(start_time, $window_start) AS t0,
           LEAST(COALESCE(end_time, $window_end), $window_end) AS t1
    FROM runs
    UNION ALL
    SELECT org, team, workload, sku, region, gpus, 'pending',
           GREATEST(submit_time, $window_start),
           LEAST(COALESCE(start_time, end_time, $window_end), $window_end)
    FROM wanted
    UNION ALL
    SELECT org, team, workload, sku, region, gpus, 'demand',
           GREATEST(submit_time, $window_start),
           LEAST(submit_time + to_microseconds(CAST(ran_s * 1e6 AS BIGINT)), $window_end)
    FROM runs
    UNION ALL
    SELECT j.org, j.team, j.workload, j.sku, j.region, j.gpus, 'demand',
           GREATEST(j.submit_time, $window_start),
           LEAST(j.submit_time + to_microseconds(CAST(
               COALESCE(j.time_limit, t.ran_s, o.ran_s, 0) * 1e6 AS BIGINT)), $window_end)
    FROM (  -- a time limit that is not a number of seconds up to 30 years is none
        SELECT * REPLACE (CASE WHEN time_limit BETWEEN 0 AND 1e9 THEN time_limit END
                          AS time_limit)
        FROM wanted
    ) j LEFT JOIN typical t USING (workload, sku) CROSS JOIN overall o
    WHERE j.start_time IS NULL
),
pieces AS (
    SELECT org, team, workload, sku, region, gpus, kind, t0, t1,
           unnest(range(date_trunc($grain, t0), t1, to_seconds($step_s))) AS ds
    FROM spans
    WHERE t1 > t0 AND gpus > 0
),
hours AS (
    SELECT org, team, workload, sku, region, ds,
           fsum(gpus * epoch(LEAST(t1, ds + to_seconds($step_s)) - GREATEST(t0, ds)))
               FILTER (WHERE kind = 'in_use') / 3600 AS gpu_hours,
           fsum(gpus * epoch(LEAST(t1, ds + to_seconds($step_s)) - GREATEST(t0, ds)))
               FILTER (WHERE kind = 'pending') / 3600 AS pending_gpu_hours,
           fsum(gpus * epoch(LEAST(t1, ds + to_seconds($step_s)) - GREATEST(t0, ds)))
               FILTER (WHERE kind = 'demand') / 3600 AS demand_gpu_hours
    FROM pieces
    GROUP BY ALL
),
groups AS (SELECT DISTINCT org, team, workload, sku, region FROM hours),
buckets AS (
    SELECT unnest(range(date_trunc($grain, $window_start), $window_end, to_seconds($step_s))) AS ds
),
grid AS (
    SELECT g.*, b.ds,
           epoch(LEAST(b.ds + to_seconds($step_s), $window_end) - GREATEST(b.ds, $window_start))
               / 3600 AS covered_hours
    FROM groups g CROSS JOIN buckets b
)
SELECT g.org, g.team, g.workload, g.sku, g.region, g.ds,
       COALESCE(h.demand_gpu_hours, 0) / g.covered_hours AS demand,
       COALESCE(h.gpu_hours, 0) / g.covered_hours AS in_use,
       COALESCE(h.pending_gpu_hours, 0) / g.covered_hours AS pending,
       (COALESCE(h.gpu_hours, 0) + COALESCE(h.pending_gpu_hours, 0)) / g.covered_hours
           AS in_use_plus_pending,
       COALESCE(h.gpu_hours, 0) AS gpu_hours,
       COALESCE(h.pending_gpu_hours, 0) AS pending_gpu_hours,
       COALESCE(h.demand_gpu_hours, 0) AS demand_gpu_hours
FROM grid g
LEFT JOIN hours h USING (org, team, workload, sku, region, ds)
ORDER BY g.org, g.team, g.workload, g.sku, g.region, g.ds
