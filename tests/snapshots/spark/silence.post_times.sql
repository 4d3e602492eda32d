WITH p AS (
  SELECT
    platform,
    actor,
    post,
    MIN(ts) AS ts
  FROM events
  WHERE
    kind = 'post' AND actor IN (
      SELECT
        b
      FROM tw_rank_q
    )
  GROUP BY
    platform,
    actor,
    post
), r AS (
  SELECT
    platform,
    actor,
    ts,
    ROW_NUMBER() OVER (PARTITION BY platform, actor ORDER BY ts NULLS LAST, post NULLS LAST) AS r
  FROM p
)
SELECT
  q.i,
  r.ts
FROM tw_rank_q AS q
JOIN r
  ON r.platform = q.platform AND r.actor = q.b AND r.r = q.r
