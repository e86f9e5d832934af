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
events AS (  -- each span adds its GPUs from t0 and takes them back at t1
    SELECT org, team, workload, sku, region, kind, t0 AS t, gpus FROM spans
    WHERE t1 > t0 AND gpus > 0
    UNION ALL
    SELECT org, team, workload, sku, region, kind, t1, -gpus FROM spans
    WHERE t1 > t0 AND gpus > 0
),
steps AS (  -- per bucket with events: the change they make, and what they add within it
    SELECT org, team, workload, sku, region, ds,
           fsum(gpus) FILTER (WHERE kind = 'in_use') AS in_use_step,
           fsum(gpus) FILTER (WHERE kind = 'pending') AS pending_step,
           fsum(gpus) FILTER (WHERE kind = 'demand') AS demand_step,
           fsum(gpus * rest) FILTER (WHERE kind = 'in_use') AS in_use_part,
           fsum(gpus * rest) FILTER (WHERE kind = 'pending') AS pending_part,
           fsum(gpus * rest) FILTER (WHERE kind = 'demand') AS demand_part
    FROM (
        SELECT *, date_trunc($grain, t) AS ds,
               epoch(date_trunc($grain, t) + to_seconds($step_s) - t) / 3600 AS rest
        FROM events
    )
    GROUP BY ALL
),
groups AS (SELECT DISTINCT org, team, workload, sku, region FROM steps),
buckets AS (
    SELECT unnest(range(date_trunc($grain, $window_start), $window_end, to_seconds($step_s))) AS ds
),
grid AS (
    SELECT g.*, b.ds,
           epoch(LEAST(b.ds + to_seconds($step_s), $window_end) - GREATEST(b.ds, $window_start))
               / 3600 AS covered_hours
    FROM groups g CROSS JOIN buckets b
),
levels AS (  -- the GPUs each kind holds from the start of each bucket: what the events
              -- of earlier buckets left (to 1e-9: starts and ends that cancel leave dust)
    SELECT g.*, s.in_use_part, s.pending_part, s.demand_part,
           fsum(s.in_use_step) OVER earlier AS in_use_before,
           fsum(s.pending_step) OVER earlier AS pending_before,
           fsum(s.demand_step) OVER earlier AS demand_before
    FROM grid g
    LEFT JOIN steps s USING (org, team, workload, sku, region, ds)
    WINDOW earlier AS (PARTITION BY g.org, g.team, g.workload, g.sku, g.region ORDER BY g.ds
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
held AS (  -- GPU-hours: what is held from the bucket's start for all of it, and what its
           -- own events add (a span cut at the window's end takes back the rest)
    SELECT *,
           CASE WHEN abs(in_use_before) > 1e-9 THEN in_use_before * $step_s / 3600 ELSE 0 END
               + COALESCE(in_use_part, 0) AS gpu_hours,
           CASE WHEN abs(pending_before) > 1e-9 THEN pending_before * $step_s / 3600 ELSE 0 END
               + COALESCE(pending_part, 0) AS pending_gpu_hours,
           CASE WHEN abs(demand_before) > 1e-9 THEN demand_before * $step_s / 3600 ELSE 0 END
               + COALESCE(demand_part, 0) AS demand_gpu_hours
    FROM levels
)
SELECT org, team, workload, sku, region, ds,
       demand_gpu_hours / covered_hours AS demand,
       gpu_hours / covered_hours AS in_use,
       pending_gpu_hours / covered_hours AS pending,
       (gpu_hours + pending_gpu_hours) / covered_hours AS in_use_plus_pending,
       gpu_hours, pending_gpu_hours, demand_gpu_hours
FROM held
ORDER BY org, team, workload, sku, region, ds
