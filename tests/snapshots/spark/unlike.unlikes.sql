WITH u AS (
  SELECT
    d.id AS key,
    l.platform,
    l.actor,
    l.target,
    l.post,
    l.ts AS liked,
    d.ts AS deleted,
    d.ts_lo AS deleted_lo,
    p.ts AS posted
  FROM record_deletes AS d
  JOIN events AS l
    ON l.id = d.id AND l.kind = 'like' AND NOT l.target IS NULL
  LEFT JOIN events AS p
    ON p.id = l.post
  WHERE
    d.collection = 'app.bsky.feed.like' AND d.ts >= :since AND d.ts < :until
), s AS (
  SELECT
    key,
    SUM(
      (
        (
          CASE
            WHEN kind = 'like'
            THEN 1.0
            WHEN kind = 'repost'
            THEN 2.0
            WHEN kind = 'mention'
            THEN 2.0
            WHEN kind = 'comment'
            THEN 3.0
            WHEN kind = 'reply'
            THEN 3.0
            WHEN kind = 'message'
            THEN 1.0
            ELSE 0
          END
        ) * POWER(
          2.0,
          -(
            (
              (
                CAST(UNIX_MICROS(at_) AS DOUBLE) / 1e6
              ) - (
                CAST(UNIX_MICROS(ts) AS DOUBLE) / 1e6
              )
            ) / 86400.0
          ) / 90.0
        )
      )
    ) AS tie
  FROM (
    SELECT
      p.key,
      p.deleted AS at_,
      e.ts,
      e.kind
    FROM u AS p
    JOIN (
      SELECT
        *
      FROM events
      WHERE
        NOT ts IS NULL AND ts >= :since AND ts < :until
    ) AS e
      ON e.platform = p.platform AND e.actor = p.actor AND e.target = p.target
    WHERE
      e.ts <= p.deleted
      AND e.kind IN ('like', 'repost', 'mention', 'comment', 'reply', 'message')
    UNION ALL
    SELECT
      p.key,
      p.deleted,
      e.ts,
      e.kind
    FROM u AS p
    JOIN (
      SELECT
        *
      FROM events
      WHERE
        NOT ts IS NULL AND ts >= :since AND ts < :until
    ) AS e
      ON e.platform = p.platform AND e.actor = p.target AND e.target = p.actor
    WHERE
      e.ts <= p.deleted
      AND e.kind IN ('like', 'repost', 'mention', 'comment', 'reply', 'message')
      AND p.actor <> p.target
  )
  GROUP BY
    key
)
SELECT
  u.*,
  COALESCE(s.tie, 0) AS tie
FROM u
LEFT JOIN s
  ON s.key = u.key
ORDER BY
  u.deleted NULLS LAST,
  u.key NULLS LAST
