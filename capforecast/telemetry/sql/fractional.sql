-- GPUs shared by fractional requests (a job asking for 0.25 GPU), per SKU and hour: the
-- fractional GPUs in use, the GPUs they need when packed perfectly (the whole GPUs that
-- hold that sum), and the GPUs they hold when every fraction has a GPU to itself. From
-- the table node_load (node_load.sql).
WITH hours AS (
    SELECT sku, hour, fsum(fractional_gpu_hours) AS fractional_gpus,
           fsum(unshared_gpu_hours) AS unshared_gpus
    FROM node_load
    GROUP BY ALL
    HAVING fsum(unshared_gpu_hours) > 1e-9
)
-- An hour's average can need fewer whole GPUs than its ceiling (short jobs): packed is at
-- most unshared.
SELECT sku, hour, fractional_gpus,
       LEAST(ceil(fractional_gpus - 1e-9), unshared_gpus) AS packed_gpus, unshared_gpus
FROM hours
ORDER BY sku, hour
