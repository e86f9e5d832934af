-- GPUs shared by fractional requests (a job asking for 0.25 GPU), per SKU and hour: the
-- fractional GPUs in use, the GPUs they need when packed perfectly (the whole GPUs that
-- hold that sum), and the GPUs they hold when every fraction has a GPU to itself.
-- Parameters: $window_start, $window_end.
WITH spans AS (
    SELECT sku, gpus - floor(gpus) AS fraction,
           GREATEST(start_time, $window_start) AS t0,
           LEAST(COALESCE(end_time, $window_end), $window_end) AS t1
    FROM jobs_clean
    WHERE start_time IS NOT NULL AND gpus > floor(gpus)
),
pieces AS (
    SELECT *, unnest(range(date_trunc('hour', t0), t1, INTERVAL 1 HOUR)) AS hour
    FROM spans
    WHERE t1 > t0
),
hours AS (
    SELECT sku, hour,
           fsum(fraction * epoch(LEAST(t1, hour + INTERVAL 1 HOUR) - GREATEST(t0, hour))) / 3600
               AS fractional_gpus,
           fsum(epoch(LEAST(t1, hour + INTERVAL 1 HOUR) - GREATEST(t0, hour))) / 3600
               AS unshared_gpus
    FROM pieces
    GROUP BY ALL
)
-- An hour's average can need fewer whole GPUs than its ceiling (short jobs): packed is at
-- most unshared.
SELECT sku, hour, fractional_gpus,
       LEAST(ceil(fractional_gpus - 1e-9), unshared_gpus) AS packed_gpus, unshared_gpus
FROM hours
ORDER BY sku, hour
