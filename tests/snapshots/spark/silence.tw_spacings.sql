WITH ev AS (
  SELECT
    *
  FROM events
  WHERE
    NOT ts IS NULL AND ts >= :since AND ts < :until
), with_posts AS (
  SELECT DISTINCT
    platform,
    actor
  FROM ev
  WHERE
    kind = 'post'
), active AS (
  SELECT
    e.platform,
    e.actor AS a,
    e.target AS b,
    DATE_TRUNC('DAY', e.ts) AS day_,
    MIN(e.ts) AS ts,
    MIN_BY(e.id, e.ts) AS id,
    MIN_BY(e.kind, e.ts) AS kind
  FROM ev AS e
  LEFT JOIN with_posts AS wp
    ON wp.platform = e.platform AND wp.actor = e.target
  WHERE
    e.kind IN ('like', 'comment', 'reply', 'repost', 'mention', 'message')
    AND NOT e.target IS NULL
    AND e.actor <> e.target
    AND wp.actor IS NULL
  GROUP BY
    e.platform,
    e.actor,
    e.target,
    DATE_TRUNC('DAY', e.ts)
), a_days AS (
  SELECT
    platform,
    actor,
    DATE_TRUNC('DAY', ts) AS day_
  FROM ev
  WHERE
    actor IN (
      SELECT
        a
      FROM active
    )
  GROUP BY
    platform,
    actor,
    DATE_TRUNC('DAY', ts)
), a_rank AS (
  SELECT
    platform,
    actor,
    day_,
    ROW_NUMBER() OVER (PARTITION BY platform, actor ORDER BY day_ NULLS LAST) AS ar
  FROM a_days
), a_last AS (
  SELECT
    platform,
    actor,
    MAX(ar) AS ar_end
  FROM a_rank
  GROUP BY
    platform,
    actor
), pe AS (
  SELECT
    x.platform,
    x.a,
    x.b,
    x.ts,
    x.id,
    x.kind,
    r.ar,
    LEAD(x.ts) OVER w AS next_ts,
    LEAD(x.id) OVER w AS next_id,
    LEAD(x.kind) OVER w AS next_kind,
    LEAD(r.ar) OVER w AS next_ar,
    ROW_NUMBER() OVER w AS pos
  FROM active AS x
  JOIN a_rank AS r
    ON r.platform = x.platform AND r.actor = x.a AND r.day_ = x.day_
  WINDOW w AS (PARTITION BY x.platform, x.a, x.b ORDER BY x.ts NULLS LAST, x.id NULLS LAST)
)
SELECT
  p.platform,
  p.a,
  p.b,
  p.ts AS start_ts,
  p.id AS start_id,
  p.next_ts,
  p.next_id,
  p.next_kind,
  COALESCE(p.next_ar, al.ar_end + 1) - p.ar AS g,
  p.pos,
  COUNT(*) OVER (PARTITION BY p.platform, p.a, p.b) AS n_all
FROM pe AS p
JOIN a_last AS al
  ON al.platform = p.platform AND al.actor = p.a
