-- NVIDIA DCGM exporter samples from Prometheus as utilization samples: one row per GPU and
-- time, flattened to CSV with the metric's labels as columns (__name__, timestamp in unix
-- seconds, value, Hostname, gpu, modelName; https://github.com/NVIDIA/dcgm-exporter).
-- Only DCGM_FI_DEV_GPU_UTIL rows are read (0..100: the share of the sample period a kernel
-- ran); rows of other metrics are left out. Each GPU's sample stays a sample of its node:
-- a node's utilization in an hour (node_util.sql) is the mean of its GPUs' samples, which
-- times its GPUs is the sum of the GPUs' own utilization: its busy GPUs, counted per GPU.
-- A timestamp that is not a number of seconds stays as written, so the check reports it.
SELECT file, row,
       CASE WHEN isfinite(TRY_CAST("timestamp" AS DOUBLE))
                 AND abs(TRY_CAST("timestamp" AS DOUBLE)) < 1e11
            THEN CAST(TIMESTAMP '1970-01-01' + to_microseconds(
                CAST(round(TRY_CAST("timestamp" AS DOUBLE) * 1e6) AS BIGINT)) AS VARCHAR)
            ELSE "timestamp" END AS time,
       Hostname AS node,
       modelName AS sku,
       value AS gpu_util,
       NULL AS mem_util
FROM {source}
WHERE "__name__" = 'DCGM_FI_DEV_GPU_UTIL'
