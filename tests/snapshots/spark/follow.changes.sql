WITH ev AS (
  SELECT
    *
  FROM events
  WHERE
    NOT ts IS NULL AND ts >= :since AND ts < :until
), f AS (
  SELECT
    id,
    platform,
    actor,
    target,
    kind,
    ts,
    ts_lo,
    ts_hi,
    LAG(kind) OVER (PARTITION BY platform, actor, target ORDER BY ts NULLS LAST, id NULLS LAST) AS prev_kind
  FROM ev
  WHERE
    kind IN ('follow', 'unfollow') AND NOT target IS NULL
), pair_ev AS (
  /* follow with every event of the platform) */
  SELECT
    f.id,
    f.ts AS f_ts,
    e.ts,
    e.kind,
    1 AS out_,
    CASE WHEN f.actor = f.target THEN 1 ELSE 0 END AS in_ /* as the OR counted a self-tie */
  FROM f
  JOIN ev AS e
    ON e.platform = f.platform AND e.actor = f.actor AND e.target = f.target
  WHERE
    e.ts <= f.ts
    AND e.kind IN ('like', 'repost', 'mention', 'comment', 'reply', 'message')
  UNION ALL
  SELECT
    f.id,
    f.ts,
    e.ts,
    e.kind,
    0,
    1
  FROM f
  JOIN ev AS e
    ON e.platform = f.platform AND e.actor = f.target AND e.target = f.actor
  WHERE
    e.ts <= f.ts
    AND e.kind IN ('like', 'repost', 'mention', 'comment', 'reply', 'message')
    AND f.actor <> f.target
), strength AS (
  SELECT
    id,
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
                CAST(UNIX_MICROS(f_ts) AS DOUBLE) / 1e6
              ) - (
                CAST(UNIX_MICROS(ts) AS DOUBLE) / 1e6
              )
            ) / 86400.0
          ) / 90.0
        )
      )
    ) AS tie,
    SUM(out_) AS out_n,
    SUM(in_) AS in_n
  FROM pair_ev
  GROUP BY
    id
)
SELECT
  f.*,
  COALESCE(s.tie, 0) AS tie,
  COALESCE(s.out_n, 0) AS out_n,
  COALESCE(s.in_n, 0) AS in_n
FROM f
LEFT JOIN strength AS s
  ON s.id = f.id
WHERE
  f.kind = 'unfollow' OR COALESCE(s.tie, 0) > 0 OR f.prev_kind = 'unfollow'
ORDER BY
  f.ts NULLS LAST,
  f.id NULLS LAST
