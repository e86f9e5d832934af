-- How many job rows were read (bad ones included).
SELECT COUNT(*) AS rows FROM jobs
