-- Every problem of every utilization sample: a time that does not parse, a GPU utilization
-- missing or outside 0..$scale, a node the inventory does not list (checked only when
-- $check_nodes). Such samples are left out.
SELECT file, row, 'time' AS "column", 'unparsable_time' AS reason,
       COALESCE(time_text, '(empty)') AS value
FROM utilization WHERE time IS NULL
UNION ALL
SELECT file, row, 'gpu_util', 'bad_util', COALESCE(gpu_util_text, '(empty)')
FROM utilization
WHERE gpu_util IS NULL OR isnan(gpu_util) OR gpu_util < 0 OR gpu_util > $scale
UNION ALL
SELECT file, row, 'node', 'unknown_node', node
FROM utilization u
WHERE $check_nodes AND NOT EXISTS (SELECT 1 FROM inventory_clean i WHERE i.node = u.node)
ORDER BY file, row, "column", reason
