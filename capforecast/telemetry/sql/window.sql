-- The span of the clean job rows: the first submission and the last event.
SELECT MIN(submit_time) AS first_event,
       GREATEST(MAX(submit_time), MAX(start_time), MAX(end_time)) AS last_event
FROM jobs_clean
