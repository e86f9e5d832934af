-- Every problem of every inventory row: a node with no name, GPUs missing, unreadable or
-- negative, a service date that does not parse, retirement before service, a node listed again (every copy after the
-- first). Such rows are left out of the inventory.
WITH copies AS (
    SELECT file, row, node, row_number() OVER (PARTITION BY node ORDER BY file, row) AS copy
    FROM inventory
    WHERE node <> ''
)
SELECT file, row, 'node' AS "column", 'missing_node' AS reason, '(empty)' AS value
FROM inventory WHERE node = ''
UNION ALL
SELECT file, row, 'gpus', 'bad_gpus', COALESCE(gpus_text, '(empty)')
FROM inventory WHERE gpus IS NULL OR isnan(gpus) OR isinf(gpus) OR gpus < 0
UNION ALL
SELECT file, row, 'in_service_from', 'unparsable_time', in_service_from_text
FROM inventory WHERE in_service_from IS NULL AND in_service_from_text IS NOT NULL
UNION ALL
SELECT file, row, 'retired_at', 'unparsable_time', retired_at_text
FROM inventory WHERE retired_at IS NULL AND retired_at_text IS NOT NULL
UNION ALL
SELECT file, row, 'retired_at', 'retired_before_service', retired_at_text
FROM inventory WHERE retired_at < in_service_from
UNION ALL
SELECT file, row, 'node', 'duplicate_node', node
FROM copies WHERE copy > 1
ORDER BY file, row, "column", reason
