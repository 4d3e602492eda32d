WITH d0 AS (
  SELECT
    d.id,
    d.did AS actor,
    d.ts,
    d.ts_lo,
    p.platform,
    p.kind AS post_kind,
    p.target AS other,
    p.text,
    p.ts AS posted,
    LAG(d.ts) OVER (PARTITION BY d.did ORDER BY d.ts NULLS LAST, d.id NULLS LAST) AS prev_ts
  FROM record_deletes AS d
  LEFT JOIN events AS p
    ON p.id = d.id
  WHERE
    d.collection = 'app.bsky.feed.post' AND d.ts >= :since AND d.ts < :until
), d AS (
  SELECT
    *,
    CASE
      WHEN prev_ts IS NULL OR UNIX_MICROS(ts) - UNIX_MICROS(prev_ts) > 21600000000
      THEN 1
      ELSE 0
    END AS starts
  FROM d0
)
SELECT
  actor,
  burst,
  MIN(ts) AS first,
  MAX(ts) AS last,
  MIN(ts_lo) AS lo,
  COUNT(*) AS n,
  COUNT(posted) AS known,
  COLLECT_LIST(STRUCT(ts AS ts, id AS id)) AS deletions,
  MIN(platform) AS platform
FROM (
  SELECT
    id,
    actor,
    ts,
    ts_lo,
    platform,
    post_kind,
    other,
    text,
    posted,
    CAST(SUM(starts) OVER (PARTITION BY actor ORDER BY ts NULLS LAST, id NULLS LAST) AS BIGINT) AS burst
  FROM d
)
GROUP BY
  actor,
  burst
ORDER BY
  first NULLS LAST,
  actor NULLS LAST
