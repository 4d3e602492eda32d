WITH c AS (
  SELECT
    cid,
    platform,
    a,
    b,
    lo,
    k
  FROM tw_cand
), posts_r AS (
  SELECT
    platform,
    actor AS b,
    CAST(FLOOR((
      CAST(UNIX_MICROS(ts) AS DOUBLE) / 1e6
    ) / 86400.0) AS BIGINT) AS pday,
    ROW_NUMBER() OVER (PARTITION BY platform, actor ORDER BY ts NULLS LAST, post NULLS LAST) AS prank
  FROM (
    SELECT
      platform,
      actor,
      post,
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
        FROM c
      )
    GROUP BY
      platform,
      actor,
      post
  )
), span AS (
  SELECT
    c.cid,
    c.platform,
    c.a,
    c.b,
    c.lo,
    c.k,
    f.pday AS d0,
    l.pday AS d1
  FROM c
  JOIN posts_r AS f
    ON f.platform = c.platform AND f.b = c.b AND f.prank = c.lo + 1
  JOIN posts_r AS l
    ON l.platform = c.platform AND l.b = c.b AND l.prank = c.lo + c.k
  WHERE
    c.k >= 1
), a_days AS (
  SELECT DISTINCT
    platform,
    actor,
    CAST(FLOOR((
      CAST(UNIX_MICROS(ts) AS DOUBLE) / 1e6
    ) / 86400.0) AS BIGINT) AS aday
  FROM (
    SELECT
      *
    FROM events
    WHERE
      NOT ts IS NULL AND ts >= :since AND ts < :until
  )
  WHERE
    actor IN (
      SELECT
        a
      FROM c
    )
), a_breaks AS (
  SELECT
    platform,
    actor,
    aday,
    CASE WHEN aday - LAG(aday) OVER w <= 3 THEN 0 ELSE 1 END AS starts_run
  FROM a_days
  WINDOW w AS (PARTITION BY platform, actor ORDER BY aday NULLS LAST)
), a_runs0 AS (
  SELECT
    platform,
    actor,
    aday,
    SUM(starts_run) OVER (
      PARTITION BY platform, actor
      ORDER BY aday NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS run
  FROM a_breaks
), a_runs AS (
  SELECT
    platform,
    actor,
    MIN(aday) - 2 AS r0,
    MAX(aday) AS r1
  FROM a_runs0
  GROUP BY
    platform,
    actor,
    run
), pieces AS (
  SELECT
    ROW_NUMBER() OVER (ORDER BY s.cid NULLS LAST, r.r0 NULLS LAST) AS pid,
    s.cid,
    s.platform,
    s.b,
    s.lo,
    s.k,
    GREATEST(r.r0, s.d0) AS p0,
    LEAST(r.r1, s.d1) AS p1
  FROM span AS s
  JOIN a_runs AS r
    ON r.platform = s.platform AND r.actor = s.a AND r.r1 >= s.d0 AND r.r0 <= s.d1
), b_days AS (
  SELECT
    platform,
    b,
    pday,
    COUNT(*) AS n
  FROM posts_r
  GROUP BY
    platform,
    b,
    pday
), stream AS (
  SELECT
    platform,
    b,
    pday AS day_,
    0 AS ord,
    n,
    CAST(NULL AS BIGINT) AS pid,
    0 AS side
  FROM b_days
  WHERE
    b IN (
      SELECT
        b
      FROM pieces
    )
  UNION ALL
  SELECT
    platform,
    b,
    p0 - 1,
    1,
    0,
    pid,
    0
  FROM pieces
  UNION ALL
  SELECT
    platform,
    b,
    p1,
    1,
    0,
    pid,
    1
  FROM pieces
), cum AS (
  SELECT
    pid,
    side,
    SUM(n) OVER (
      PARTITION BY platform, b
      ORDER BY day_ NULLS LAST, ord NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS upto
  FROM stream
), ends AS (
  SELECT
    pid,
    MAX(CASE WHEN side = 0 THEN upto END) AS before_p0,
    MAX(CASE WHEN side = 1 THEN upto END) AS upto_p1
  FROM cum
  WHERE
    NOT pid IS NULL
  GROUP BY
    pid
), seen AS (
  SELECT
    p.cid,
    GREATEST(LEAST(p.lo + p.k, e.upto_p1) - GREATEST(p.lo, e.before_p0), 0) AS n
  FROM pieces AS p
  JOIN ends AS e
    ON e.pid = p.pid
)
SELECT
  c.cid,
  COALESCE(SUM(seen.n), 0) AS k_active
FROM c
LEFT JOIN seen
  ON seen.cid = c.cid
GROUP BY
  c.cid
ORDER BY
  c.cid NULLS LAST
