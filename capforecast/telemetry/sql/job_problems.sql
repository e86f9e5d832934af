-- Every problem of every job row: the file and row, the column, why, and the value as
-- written. Parameters: $max_gpus (more GPUs than this is absurd), $skus (the known SKUs;
-- an empty list checks nothing). Reads the table repeated_ids (repeated_ids.sql).
WITH copies AS (  -- only ids whose hash repeats (table repeated_ids) can be copies
    SELECT file, row, job_id,
           row_number() OVER (PARTITION BY job_id ORDER BY file, row) AS copy
    FROM jobs
    WHERE job_id <> '' AND hash(job_id) IN (SELECT id_hash FROM repeated_ids)
)
SELECT file, row, 'submit_time' AS "column", 'unparsable_time' AS reason,
       COALESCE(submit_time_text, '(empty)') AS value
FROM jobs WHERE submit_time IS NULL
UNION ALL
SELECT file, row, 'start_time', 'unparsable_time', start_time_text
FROM jobs WHERE start_time IS NULL AND start_time_text IS NOT NULL
UNION ALL
SELECT file, row, 'end_time', 'unparsable_time', end_time_text
FROM jobs WHERE end_time IS NULL AND end_time_text IS NOT NULL
UNION ALL
SELECT file, row, 'end_time', 'end_before_start', end_time_text
FROM jobs WHERE end_time < COALESCE(start_time, submit_time)
UNION ALL
SELECT file, row, 'start_time', 'start_before_submit', start_time_text
FROM jobs WHERE start_time < submit_time
UNION ALL
SELECT file, row, 'gpus', 'bad_gpus', COALESCE(gpus_text, '(empty)')
FROM jobs WHERE gpus IS NULL OR isnan(gpus) OR isinf(gpus) OR gpus < 0
UNION ALL
SELECT file, row, 'gpus', 'absurd_gpus', gpus_text
FROM jobs WHERE gpus > $max_gpus AND NOT isinf(gpus)
UNION ALL
SELECT file, row, 'sku', 'unknown_sku', sku  -- a job with no GPUs is no GPU demand
FROM jobs WHERE len($skus) > 0 AND NOT list_contains($skus, sku) AND NOT COALESCE(gpus = 0, FALSE)
UNION ALL
SELECT file, row, 'job_id', 'duplicate_job_id', job_id
FROM copies WHERE copy > 1
ORDER BY file, row, "column", reason
