WITH q AS (
  SELECT
    i,
    platform,
    a,
    b,
    r0,
    r1
  FROM tw_ends
), posts_r AS (
  SELECT
    platform,
    author,
    post_id,
    ROW_NUMBER() OVER (PARTITION BY platform, author ORDER BY ts NULLS LAST, post_id NULLS LAST) AS prank
  FROM (
    SELECT
      platform,
      actor AS author,
      post AS post_id,
      MIN(ts) AS ts
    FROM (
      SELECT
        *
      FROM events
      WHERE
        NOT ts IS NULL AND ts >= :since AND ts < :until
    )
    WHERE
      kind = 'post' AND NOT post IS NULL AND actor IN (
        SELECT
          b
        FROM q
      )
    GROUP BY
      platform,
      actor,
      post
  )
), want AS (
  SELECT
    q.i,
    0 AS side,
    q.platform,
    q.a,
    q.b,
    p.post_id
  FROM q
  JOIN posts_r AS p
    ON p.platform = q.platform AND p.author = q.b AND p.prank = q.r0
  UNION ALL
  SELECT
    q.i,
    1 AS side,
    q.platform,
    q.a,
    q.b,
    p.post_id
  FROM q
  JOIN posts_r AS p
    ON p.platform = q.platform AND p.author = q.b AND p.prank = q.r1
), hits AS (
  SELECT
    w.i,
    w.side,
    e.ts,
    e.id,
    e.kind,
    ROW_NUMBER() OVER (PARTITION BY w.i, w.side ORDER BY e.ts NULLS LAST, e.id NULLS LAST) AS first_,
    ROW_NUMBER() OVER (PARTITION BY w.i, w.side ORDER BY e.ts DESC NULLS FIRST, e.id DESC NULLS FIRST) AS last_
  FROM (
    SELECT
      *
    FROM events
    WHERE
      NOT ts IS NULL AND ts >= :since AND ts < :until
  ) AS e
  JOIN want AS w
    ON e.platform = w.platform AND e.actor = w.a AND e.target = w.b AND e.post = w.post_id
  WHERE
    e.kind IN ('like', 'comment', 'reply', 'repost') AND e.actor <> e.target
)
SELECT
  i,
  side,
  ts,
  id,
  kind
FROM hits
WHERE
  (
    side = 0 AND last_ = 1
  ) OR (
    side = 1 AND first_ = 1
  )
