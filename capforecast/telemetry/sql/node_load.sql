-- Per SKU, node and hour of the window: the GPU-hours allocated to jobs, the fractional
-- GPU-hours of fractional requests, and the hours of those requests (each holding a GPU
-- of its own), from the table job_nodes (job_nodes.sql); only hours with an allocation.
-- Built from each span's start and end, not hour by hour per job: an amount held from t0
-- to t1 adds to its hour its share of the rest of that hour from t0, and to every later
-- hour all of it until the hour of t1 takes it back the same way. So the work grows with
-- the jobs and the node-hours in use, not with jobs x hours.
WITH events AS (
    SELECT sku, node, t0 AS t, gpus, fraction, fractional FROM job_nodes
    UNION ALL
    SELECT sku, node, t1, -gpus, -fraction, -fractional FROM job_nodes
),
steps AS (  -- per hour with events: the change they make, and what they add within it
    SELECT sku, node, hour,
           fsum(gpus) AS gpus_step, fsum(fraction) AS fraction_step,
           fsum(fractional) AS fractional_step,
           fsum(gpus * rest) AS gpus_part, fsum(fraction * rest) AS fraction_part,
           fsum(fractional * rest) AS fractional_part
    FROM (
        SELECT *, date_trunc('hour', t) AS hour,
               epoch(date_trunc('hour', t) + INTERVAL 1 HOUR - t) / 3600 AS rest
        FROM events
    )
    GROUP BY ALL
),
levels AS (  -- what is held after each such hour, until the next one
    SELECT *,
           fsum(gpus_step) OVER held AS gpus_level,
           fsum(fraction_step) OVER held AS fraction_level,
           fsum(fractional_step) OVER held AS fractional_level,
           lead(hour) OVER (PARTITION BY sku, node ORDER BY hour) AS next_hour
    FROM steps
    WINDOW held AS (PARTITION BY sku, node ORDER BY hour ROWS UNBOUNDED PRECEDING)
),
hours AS (
    SELECT sku, node, hour,
           gpus_level - gpus_step + gpus_part AS gpu_hours,
           fraction_level - fraction_step + fraction_part AS fractional_gpu_hours,
           fractional_level - fractional_step + fractional_part AS unshared_gpu_hours
    FROM levels
    UNION ALL
    SELECT sku, node,
           unnest(range(hour + INTERVAL 1 HOUR, next_hour, INTERVAL 1 HOUR)) AS hour,
           gpus_level, fraction_level, fractional_level
    FROM levels
    WHERE gpus_level > 1e-9 AND next_hour > hour + INTERVAL 1 HOUR
)
-- Ends and starts that cancel leave rounding dust, not an allocation.
SELECT * FROM hours WHERE gpu_hours > 1e-9
