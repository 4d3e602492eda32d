SELECT
  k.platform,
  k.a,
  k.b,
  k.start_ts,
  k.start_id,
  k.next_ts,
  k.next_id,
  k.next_kind,
  k.g,
  k.pos,
  k.n_all,
  k.at_least,
  SLICE(SORT_ARRAY(COLLECT_LIST(s.g), FALSE), 1, 20) AS earlier,
  PERCENTILE(s.g, 0.5) AS typical
FROM (
  SELECT
    c.platform,
    c.a,
    c.b,
    c.start_ts,
    c.start_id,
    c.next_ts,
    c.next_id,
    c.next_kind,
    c.g,
    c.pos,
    c.n_all,
    COUNT(*) AS at_least
  FROM (
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
    FROM (
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
      FROM tw_spacings
      WHERE
        n_all >= :min_pos
    ) AS w
    WHERE
      pos >= :min_pos AND g >= qg
  ) AS c
  JOIN tw_spacings AS s
    ON s.platform = c.platform
    AND s.a = c.a
    AND s.b = c.b
    AND s.pos <= c.pos
    AND s.g >= c.g
  GROUP BY
    c.platform,
    c.a,
    c.b,
    c.start_ts,
    c.start_id,
    c.next_ts,
    c.next_id,
    c.next_kind,
    c.g,
    c.pos,
    c.n_all
  HAVING
    COUNT(*) <= :cap * c.pos
) AS k
JOIN tw_spacings AS s
  ON s.platform = k.platform AND s.a = k.a AND s.b = k.b AND s.pos < k.pos
GROUP BY
  k.platform,
  k.a,
  k.b,
  k.start_ts,
  k.start_id,
  k.next_ts,
  k.next_id,
  k.next_kind,
  k.g,
  k.pos,
  k.n_all,
  k.at_least
ORDER BY
  k.platform NULLS LAST,
  k.a NULLS LAST,
  k.b NULLS LAST,
  k.pos NULLS LAST
