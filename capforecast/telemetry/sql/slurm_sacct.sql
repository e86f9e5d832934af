-- Slurm's accounting log as a job log: the output of
--   sacct --allocations --parsable2 --format=JobID,JobName,User,Account,Partition,State,
--         Submit,Start,End,Elapsed,Timelimit,AllocTRES,ReqTRES,NodeList,Cluster
-- (https://slurm.schedmd.com/sacct.html). One row per job allocation; job steps
-- (1234.batch, 1234.extern, 1234.0: a JobID with a dot) are left out, since their GPUs are
-- the allocation's. The account is the team, the partition the workload, the cluster the
-- org. The GPUs and their type come from the GRES of AllocTRES (gres/gpu:h100=8: 8 of
-- SKU 'h100'; gres/gpu=8 with no type: SKU 'gpu'), or of ReqTRES when nothing is allocated
-- (a pending job); a job with no GPU TRES asks for 0 GPUs of SKU 'cpu'. Times Unknown,
-- None or empty are NULL (any other time that does not parse is reported). Timelimit
-- ([days-]hours:minutes:seconds, minutes:seconds, minutes, days-hours[:minutes]) is
-- time_limit in seconds (UNLIMITED, Partition_Limit: NULL). NodeList host lists
-- (gpu-[01-03,07]) are expanded to gpu-01,gpu-02,gpu-03,gpu-07; an expression with more
-- than one bracket is kept as written. Elapsed is not read: Start and End give it.
WITH raw AS (
    SELECT *,
           regexp_extract(AllocTRES, 'gres/gpu:([^=,]+)=([^,]*)', ['type', 'n']) AS typed,
           regexp_extract(AllocTRES, 'gres/gpu=([^,]*)', 1) AS untyped,
           regexp_extract(ReqTRES, 'gres/gpu:([^=,]+)=([^,]*)', ['type', 'n']) AS req_typed,
           regexp_extract(ReqTRES, 'gres/gpu=([^,]*)', 1) AS req_untyped,
           regexp_extract(trim(Timelimit), '^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$',
                          ['d', 'a', 'b', 'c']) AS tl,
           CASE WHEN NodeList IS NULL OR trim(NodeList) IN ('', 'None assigned', '(null)')
                THEN [] ELSE regexp_extract_all(trim(NodeList), '[^,\[]+(?:\[[^\]]*\])?[^,]*')
           END AS hosts
    FROM {source}
    WHERE NOT contains(COALESCE(JobID, ''), '.')
),
gres AS (
    SELECT *,
           CASE WHEN typed.type <> '' THEN [typed.type, typed.n]
                WHEN untyped <> '' THEN ['gpu', untyped]
                WHEN req_typed.type <> '' THEN [req_typed.type, req_typed.n]
                WHEN req_untyped <> '' THEN ['gpu', req_untyped]
                ELSE ['cpu', '0'] END AS gpu
    FROM raw
)
SELECT file, row,
       JobID AS job_id,
       COALESCE(Cluster, '') AS org,
       Account AS team,
       Partition AS workload,
       gpu[1] AS sku,
       gpu[2] AS gpus,
       CASE WHEN trim(Submit) IN ('Unknown', 'None') THEN NULL ELSE Submit END AS submit_time,
       CASE WHEN trim(Start) IN ('Unknown', 'None') THEN NULL ELSE Start END AS start_time,
       CASE WHEN trim("End") IN ('Unknown', 'None') THEN NULL ELSE "End" END AS end_time,
       split_part(trim(State), ' ', 1) AS status,
       '' AS region,
       array_to_string(flatten(list_transform(hosts, lambda h:
           CASE WHEN regexp_full_match(h, '[^\[\]]*\[[0-9,\-]+\][^\[\]]*') THEN
               flatten(list_transform(
                   string_split(regexp_extract(h, '\[([0-9,\-]+)\]', 1), ','), lambda r:
                   CASE WHEN regexp_full_match(r, '\d{{1,9}}(-\d{{1,9}})?')
                             AND CAST(COALESCE(NULLIF(split_part(r, '-', 2), ''),
                                               split_part(r, '-', 1)) AS BIGINT)
                                 - CAST(split_part(r, '-', 1) AS BIGINT) BETWEEN 0 AND 9999
                   THEN list_transform(
                       range(CAST(split_part(r, '-', 1) AS BIGINT),
                             CAST(COALESCE(NULLIF(split_part(r, '-', 2), ''),
                                           split_part(r, '-', 1)) AS BIGINT) + 1),
                       lambda i: regexp_extract(h, '^([^\[]*)\[', 1)
                           || lpad(CAST(i AS VARCHAR),
                                   CAST(GREATEST(len(split_part(r, '-', 1)),
                                                 len(CAST(i AS VARCHAR))) AS INTEGER), '0')
                           || regexp_extract(h, '\]([^\]]*)$', 1))
                   ELSE [h] END))
           ELSE [h] END)), ',') AS node,
       CASE WHEN tl.a = '' THEN NULL
            WHEN tl.d <> '' THEN CAST(tl.d AS DOUBLE) * 86400 + CAST(tl.a AS DOUBLE) * 3600
                 + COALESCE(TRY_CAST(tl.b AS DOUBLE), 0) * 60
                 + COALESCE(TRY_CAST(tl.c AS DOUBLE), 0)
            WHEN tl.c <> '' THEN CAST(tl.a AS DOUBLE) * 3600 + CAST(tl.b AS DOUBLE) * 60
                 + CAST(tl.c AS DOUBLE)
            WHEN tl.b <> '' THEN CAST(tl.a AS DOUBLE) * 60 + CAST(tl.b AS DOUBLE)
            ELSE CAST(tl.a AS DOUBLE) * 60 END AS time_limit
FROM gres
