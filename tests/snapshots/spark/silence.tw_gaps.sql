WITH posts AS (
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
    kind = 'post' AND NOT post IS NULL
  GROUP BY
    platform,
    actor,
    post
), posts_r AS (
  SELECT
    platform,
    author,
    post_id,
    ROW_NUMBER() OVER (PARTITION BY platform, author ORDER BY ts NULLS LAST, post_id NULLS LAST) AS prank,
    CAST(SUM(
      CASE
        WHEN ts <= (
          :end - MAKE_DT_INTERVAL(
            0,
            0,
            0,
            CAST(CAST(CAST(259200000000.0 AS BIGINT) AS DECIMAL(20, 0)) / 1000000 AS DECIMAL(18, 6))
          )
        )
        THEN 1
        ELSE 0
      END
    ) OVER (PARTITION BY platform, author) AS BIGINT) AS open_rank
  FROM posts
), eng AS (
  SELECT DISTINCT
    e.platform,
    e.actor AS a,
    e.target AS b,
    p.prank,
    p.open_rank
  FROM (
    SELECT
      *
    FROM events
    WHERE
      NOT ts IS NULL AND ts >= :since AND ts < :until
  ) AS e
  JOIN posts_r AS p
    ON p.platform = e.platform AND p.author = e.target AND p.post_id = e.post
  WHERE
    e.kind IN ('like', 'comment', 'reply', 'repost') AND e.actor <> e.target
), seq AS (
  SELECT
    *,
    ROW_NUMBER() OVER w AS e,
    FIRST_VALUE(prank) OVER w AS first_prank,
    LEAD(prank) OVER w AS next_prank
  FROM eng
  WINDOW w AS (PARTITION BY platform, a, b ORDER BY prank NULLS LAST)
)
SELECT
  s.platform,
  s.a,
  s.b,
  s.e,
  s.prank - s.first_prank + 1 AS n,
  s.prank AS rank_at,
  CASE
    WHEN s.next_prank IS NULL
    THEN GREATEST(s.open_rank - s.prank, 0)
    ELSE s.next_prank - s.prank - 1
  END AS k,
  GREATEST(s.open_rank - s.prank, s.next_prank - s.prank - 1, 0) AS kmax,
  s.next_prank AS next_rank
FROM seq AS s
