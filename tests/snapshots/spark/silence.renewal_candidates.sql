WITH s AS (
  SELECT
    platform,
    a,
    b,
    start_ts,
    start_id,
    next_ts,
    next_id,
    next_kind,
    g,
    pos,
    n_all
  FROM tw_spacings
  WHERE
    n_all >= :min_pos
), w AS (
  SELECT
    platform,
    a,
    b,
    start_ts,
    start_id,
    next_ts,
    next_id,
    next_kind,
    g,
    pos,
    n_all,
    PERCENTILE(g, :frac) OVER (
      PARTITION BY platform, a, b
      ORDER BY pos NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS qg
  FROM s
), c AS (
  SELECT
    platform,
    a,
    b,
    start_ts,
    start_id,
    next_ts,
    next_id,
    next_kind,
    g,
    pos,
    n_all
  FROM w
  WHERE
    pos >= :min_pos AND g >= qg
), cnt AS (
  SELECT
    c.platform,
    c.a,
    c.b,
    c.pos,
    COUNT(*) AS at_least
  FROM c
  JOIN s
    ON s.platform = c.platform
    AND s.a = c.a
    AND s.b = c.b
    AND s.pos <= c.pos
    AND s.g >= c.g
  GROUP BY
    c.platform,
    c.a,
    c.b,
    c.pos
  HAVING
    COUNT(*) <= :cap * c.pos
), k AS (
  SELECT
    c.*,
    cnt.at_least
  FROM c
  JOIN cnt
    ON cnt.platform = c.platform AND cnt.a = c.a AND cnt.b = c.b AND cnt.pos = c.pos
), e AS (
  SELECT
    k.platform,
    k.a,
    k.b,
    k.pos,
    SLICE(SORT_ARRAY(COLLECT_LIST(s.g), FALSE), 1, 20) AS earlier,
    PERCENTILE(s.g, 0.5) AS typical
  FROM k
  JOIN s
    ON s.platform = k.platform AND s.a = k.a AND s.b = k.b AND s.pos < k.pos
  GROUP BY
    k.platform,
    k.a,
    k.b,
    k.pos
)
SELECT
  k.*,
  e.earlier,
  e.typical
FROM k
JOIN e
  ON e.platform = k.platform AND e.a = k.a AND e.b = k.b AND e.pos = k.pos
ORDER BY
  k.platform NULLS LAST,
  k.a NULLS LAST,
  k.b NULLS LAST,
  k.pos NULLS LAST
