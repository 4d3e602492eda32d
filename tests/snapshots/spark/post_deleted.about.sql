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
), d0 AS (
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
), refs AS (
  SELECT
    id,
    actor,
    burst,
    ts,
    other,
    CASE WHEN post_kind = 'reply' THEN 'reply' ELSE 'quote' END AS how
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
  WHERE
    NOT other IS NULL AND post_kind IN ('reply', 'post')
  UNION ALL
  SELECT
    p.id,
    p.actor,
    p.burst,
    p.ts,
    a.account,
    'mention'
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
  ) AS p
  JOIN accounts AS a
    ON a.platform = 'bluesky'
    AND CONTAINS(a.name, '.')
    AND NOT p.text IS NULL
    AND CONTAINS(LOWER(p.text), '@' || LOWER(a.name))
), g AS (
  SELECT
    actor || '|' || CAST(burst AS STRING) || '|' || other AS key,
    'bluesky' AS platform,
    actor,
    other AS target,
    burst,
    MAX(ts) AS at,
    COUNT(DISTINCT id) AS n,
    ARRAY_SORT(COLLECT_LIST(DISTINCT how)) AS hows,
    ARRAY_SORT(COLLECT_LIST(DISTINCT id)) AS ids
  FROM refs
  WHERE
    other <> actor
  GROUP BY
    actor,
    burst,
    other
), names_ AS (
  SELECT
    account,
    MIN(LOWER(name)) AS name
  FROM accounts
  WHERE
    platform = 'bluesky'
  GROUP BY
    account
), gt AS (
  SELECT
    g.key,
    g.actor,
    g.target,
    n.name AS target_name
  FROM g
  LEFT JOIN names_ AS n
    ON n.account = g.target
), deleted AS (
  SELECT DISTINCT
    id
  FROM record_deletes
), remaining AS (
  SELECT
    gt.key,
    COUNT(e.id) AS left_n
  FROM gt
  JOIN events AS e
    ON e.platform = 'bluesky' AND e.actor = gt.actor AND e.kind IN ('post', 'reply')
  LEFT JOIN deleted AS x
    ON x.id = e.id
  WHERE
    x.id IS NULL
    AND (
      e.target = gt.target OR CONTAINS(LOWER(e.text), '@' || gt.target_name)
    )
  GROUP BY
    gt.key
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
      p.at AS at_,
      e.ts,
      e.kind
    FROM g AS p
    JOIN (
      SELECT
        *
      FROM events
      WHERE
        NOT ts IS NULL AND ts >= :since AND ts < :until
    ) AS e
      ON e.platform = p.platform AND e.actor = p.actor AND e.target = p.target
    WHERE
      e.ts <= p.at
      AND e.kind IN ('like', 'repost', 'mention', 'comment', 'reply', 'message')
    UNION ALL
    SELECT
      p.key,
      p.at,
      e.ts,
      e.kind
    FROM g AS p
    JOIN (
      SELECT
        *
      FROM events
      WHERE
        NOT ts IS NULL AND ts >= :since AND ts < :until
    ) AS e
      ON e.platform = p.platform AND e.actor = p.target AND e.target = p.actor
    WHERE
      e.ts <= p.at
      AND e.kind IN ('like', 'repost', 'mention', 'comment', 'reply', 'message')
      AND p.actor <> p.target
  )
  GROUP BY
    key
)
SELECT
  g.*,
  COALESCE(s.tie, 0) AS tie,
  COALESCE(r.left_n, 0) AS left_n
FROM g
LEFT JOIN s
  ON s.key = g.key
LEFT JOIN remaining AS r
  ON r.key = g.key
ORDER BY
  g.at NULLS LAST,
  g.key NULLS LAST
