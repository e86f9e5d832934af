-- Accelerators in use and pending per group and time bucket, as averages over the part
-- of the bucket inside the window, and the GPU-hours behind them; every group has a row
-- for every bucket (zeros included). From the clean job rows (view jobs_clean): a job is
-- pending from its submission to its start (or, if it never started, to its end or the
-- window's end) and in use from its start to its end (or the window's end). Fractional
-- GPU requests count as the fraction. Parameters: $grain ('hour' or 'day'), $step_s (its
-- length in seconds), $window_start, $window_end.
WITH spans AS (
    SELECT org, team, workload, sku, region, gpus, TRUE AS running,
           GREATEST(start_time, $window_start) AS t0,
           LEAST(COALESCE(end_time, $window_end), $window_end) AS t1
    FROM jobs_clean
    WHERE start_time IS NOT NULL
    UNION ALL
    SELECT org, team, workload, sku, region, gpus, FALSE,
           GREATEST(submit_time, $window_start),
           LEAST(COALESCE(start_time, end_time, $window_end), $window_end)
    FROM jobs_clean
),
pieces AS (
    SELECT org, team, workload, sku, region, gpus, running, t0, t1,
           unnest(range(date_trunc($grain, t0), t1, to_seconds($step_s))) AS ds
    FROM spans
    WHERE t1 > t0 AND gpus > 0
),
hours AS (
    SELECT org, team, workload, sku, region, ds,
           fsum(gpus * epoch(LEAST(t1, ds + to_seconds($step_s)) - GREATEST(t0, ds)))
               FILTER (WHERE running) / 3600 AS gpu_hours,
           fsum(gpus * epoch(LEAST(t1, ds + to_seconds($step_s)) - GREATEST(t0, ds)))
               FILTER (WHERE NOT running) / 3600 AS pending_gpu_hours
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
       COALESCE(h.gpu_hours, 0) / g.covered_hours AS in_use,
       COALESCE(h.pending_gpu_hours, 0) / g.covered_hours AS pending,
       (COALESCE(h.gpu_hours, 0) + COALESCE(h.pending_gpu_hours, 0)) / g.covered_hours AS demand,
       COALESCE(h.gpu_hours, 0) AS gpu_hours,
       COALESCE(h.pending_gpu_hours, 0) AS pending_gpu_hours
FROM grid g
LEFT JOIN hours h USING (org, team, workload, sku, region, ds)
ORDER BY g.org, g.team, g.workload, g.sku, g.region, g.ds
