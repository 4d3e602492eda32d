WITH avail AS (
  SELECT
    *,
    LAG(display_name) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_display_name,
    LAG(description) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_description,
    LAG(avatar) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_avatar,
    LAG(handle) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_handle,
    LAG(status) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_status,
    LAG(ts) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_ts
  FROM profiles
  WHERE
    status <> 'unavailable' AND ts >= :since AND ts < :until
), st AS (
  SELECT
    did,
    ts,
    status,
    LAG(status) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_status_any,
    LAG(ts) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_ts_any
  FROM profiles
  WHERE
    ts >= :since AND ts < :until
)
SELECT
  a.did,
  a.ts,
  a.prev_ts,
  a.display_name,
  a.prev_display_name,
  a.description,
  a.prev_description,
  a.avatar,
  a.prev_avatar,
  a.handle,
  a.prev_handle,
  a.status,
  a.prev_status,
  CAST(NULL AS STRING) AS went
FROM avail AS a
WHERE
  NOT a.prev_ts IS NULL
  AND (
    display_name IS DISTINCT FROM prev_display_name
    OR description IS DISTINCT FROM prev_description
    OR avatar IS DISTINCT FROM prev_avatar
    OR handle IS DISTINCT FROM prev_handle
    OR status IS DISTINCT FROM prev_status
  )
UNION ALL
SELECT
  did,
  ts,
  prev_ts_any,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  status
FROM st
WHERE
  NOT prev_status_any IS NULL
  AND status IS DISTINCT FROM prev_status_any
  AND 'unavailable' IN (status, prev_status_any)
ORDER BY
  2 NULLS LAST,
  1 NULLS LAST
