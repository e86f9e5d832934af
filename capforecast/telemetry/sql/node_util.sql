-- Each node's mean GPU utilization (a fraction) per hour of the window, and how much of
-- that hour is inside the window (covered, in hours). Parameters: $scale (100 for
-- percent), $window_start, $window_end.
SELECT node, hour, util,
       epoch(LEAST(hour + INTERVAL 1 HOUR, $window_end) - GREATEST(hour, $window_start))
           / 3600 AS covered
FROM (
    SELECT node, date_trunc('hour', time) AS hour, fsum(gpu_util) / COUNT(gpu_util) / $scale AS util
    FROM utilization_clean
    WHERE time >= $window_start AND time < $window_end
    GROUP BY ALL
)
