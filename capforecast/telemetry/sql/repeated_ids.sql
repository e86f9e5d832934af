-- The hashes of job ids seen more than once (a superset of the repeated ids: two ids may
-- share a hash; job_problems compares the ids themselves). An aggregate of one 64-bit key
-- per row is the smallest way to find repeats among many millions of ids, and it spills to
-- disk under a memory limit.
SELECT hash(job_id) AS id_hash
FROM jobs
WHERE job_id <> ''
GROUP BY id_hash
HAVING COUNT(*) > 1
