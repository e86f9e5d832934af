-- The Alibaba openb pod list (cluster-trace-gpu-v2023) as a job log. A pod asks for
-- num_gpu GPUs, or for gpu_milli thousandths of one shared GPU; times are seconds from the
-- trace's start; a pod never scheduled was pending until its deletion. The trace names no
-- team and no GPU model per pod (gpu_spec is empty): the QoS class is the workload, the SKU
-- is gpu_spec or 'any'.
SELECT file, row,
       name AS job_id,
       'openb' AS org,
       '' AS team,
       qos AS workload,
       COALESCE(NULLIF(gpu_spec, ''), 'any') AS sku,
       CASE WHEN TRY_CAST(num_gpu AS DOUBLE) = 1 THEN TRY_CAST(gpu_milli AS DOUBLE) / 1000
            ELSE TRY_CAST(num_gpu AS DOUBLE) END AS gpus,
       creation_time AS submit_time,
       scheduled_time AS start_time,
       deletion_time AS end_time,
       pod_phase AS status,
       '' AS region,
       '' AS node,
       NULL AS time_limit
FROM {source}
