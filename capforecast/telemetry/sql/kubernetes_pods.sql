-- Kubernetes pods as a job log: one row per pod from the API, flattened to CSV (the command
-- is in docs/telemetry.md): namespace, name, uid, creationTimestamp, startTime
-- (status.startTime), finishedAt (the last container's state.terminated.finishedAt), phase,
-- nodeName, requests (the containers' resource requests summed, a JSON object such as
-- {{"cpu":"8","nvidia.com/gpu":"4"}}) and, optionally, labels (metadata.labels as a JSON
-- object) and gpu_product (the GPU model: the nvidia.com/gpu.product label of GPU feature
-- discovery, from the pod's nodeSelector or its node). The pod's uid is the job, its
-- namespace the team, its app.kubernetes.io/component label the workload. The GPUs are the
-- device-plugin resource it requests (nvidia.com/gpu, amd.com/gpu or gpu.intel.com/i915;
-- none: 0 GPUs of SKU 'cpu'); the SKU is gpu_product, else that resource's name. A
-- requests cell that is not a JSON object, or a GPU count that is not a number, gives GPUs
-- the check reports (bad_gpus). Times are ISO 8601 in UTC (2026-11-03T08:15:00Z).
WITH raw AS (
    SELECT *,
           CASE WHEN NULLIF(trim(requests), '') IS NULL THEN '{{}}'
                WHEN json_valid(requests) AND json_type(requests) = 'OBJECT' THEN requests
           END AS asked,
           CASE WHEN json_valid(labels) AND json_type(labels) = 'OBJECT'
                THEN json_extract_string(labels, '$."app.kubernetes.io/component"')
           END AS component
    FROM {source}
),
resources AS (
    SELECT *,
           CASE WHEN json_extract_string(asked, '$."nvidia.com/gpu"') IS NOT NULL
                    THEN 'nvidia.com/gpu'
                WHEN json_extract_string(asked, '$."amd.com/gpu"') IS NOT NULL
                    THEN 'amd.com/gpu'
                WHEN json_extract_string(asked, '$."gpu.intel.com/i915"') IS NOT NULL
                    THEN 'gpu.intel.com/i915'
           END AS resource
    FROM raw
)
SELECT file, row,
       uid AS job_id,
       '' AS org,
       namespace AS team,
       COALESCE(component, '') AS workload,
       CASE WHEN resource IS NULL THEN 'cpu'
            ELSE COALESCE(NULLIF(trim(gpu_product), ''), resource) END AS sku,
       CASE WHEN asked IS NULL THEN 'requests not a JSON object: ' || requests
            WHEN resource IS NULL THEN '0'
            ELSE json_extract_string(asked, '$."' || resource || '"') END AS gpus,
       rtrim(creationTimestamp, 'Z') AS submit_time,
       rtrim(startTime, 'Z') AS start_time,
       rtrim(finishedAt, 'Z') AS end_time,
       phase AS status,
       '' AS region,
       COALESCE(nodeName, '') AS node,
       NULL AS time_limit
FROM resources
