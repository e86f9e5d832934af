-- The Alibaba openb node list as an inventory: one row per node with its GPU model.
SELECT file, row, sn AS node, COALESCE(NULLIF(model, ''), 'cpu') AS sku, gpu AS gpus,
       'openb' AS site, '' AS region, NULL AS in_service_from, NULL AS retired_at
FROM {source}
