WITH pk0 AS (
  SELECT
    platform,
    actor AS a,
    target AS b
  FROM (
    SELECT
      id,
      ts,
      platform,
      actor,
      kind,
      target
    FROM events
    WHERE
      NOT ts IS NULL AND ts >= :since AND ts < :until
  )
  WHERE
    kind IN ('like', 'comment', 'reply', 'repost', 'mention', 'message')
    AND NOT target IS NULL
    AND actor <> target
  GROUP BY
    platform,
    actor,
    target
  HAVING
    COUNT(*) > 7
), pk AS (
  SELECT
    platform,
    a,
    b,
    ROW_NUMBER() OVER (ORDER BY platform NULLS LAST, a NULLS LAST, b NULLS LAST) AS pid,
    DENSE_RANK() OVER (ORDER BY platform NULLS LAST, a NULLS LAST) AS aid
  FROM pk0
), ak AS (
  SELECT DISTINCT
    platform,
    a,
    aid
  FROM pk
), act AS (
  SELECT
    ak.aid,
    DATE_TRUNC('DAY', e.ts) AS cday
  FROM (
    SELECT
      id,
      ts,
      platform,
      actor,
      kind,
      target
    FROM events
    WHERE
      NOT ts IS NULL AND ts >= :since AND ts < :until
  ) AS e
  JOIN ak
    ON ak.platform = e.platform AND ak.a = e.actor
  GROUP BY
    ak.aid,
    DATE_TRUNC('DAY', e.ts)
), ar AS (
  SELECT
    aid,
    cday,
    ROW_NUMBER() OVER (PARTITION BY aid ORDER BY cday NULLS LAST) AS r
  FROM act
), pd AS (
  SELECT
    pk.pid,
    pk.aid,
    DATE_TRUNC('DAY', e.ts) AS cday,
    COUNT(*) AS n_ev,
    MIN(e.ts) AS first_ts
  FROM (
    SELECT
      id,
      ts,
      platform,
      actor,
      kind,
      target
    FROM events
    WHERE
      NOT ts IS NULL AND ts >= :since AND ts < :until
  ) AS e
  JOIN pk
    ON pk.platform = e.platform AND pk.a = e.actor AND pk.b = e.target
  WHERE
    e.kind IN ('like', 'comment', 'reply', 'repost', 'mention', 'message')
    AND NOT e.target IS NULL
    AND e.actor <> e.target
  GROUP BY
    pk.pid,
    pk.aid,
    DATE_TRUNC('DAY', e.ts)
), pr AS (
  SELECT
    pd.pid,
    pd.cday,
    pd.n_ev,
    pd.first_ts,
    ar.r
  FROM pd
  JOIN ar
    ON ar.aid = pd.aid AND ar.cday = pd.cday
), sp AS (
  SELECT
    pid,
    cday,
    n_ev,
    first_ts,
    r,
    r - LAG(r) OVER (PARTITION BY pid ORDER BY r NULLS LAST) AS s,
    ROW_NUMBER() OVER (PARTITION BY pid ORDER BY r NULLS LAST) - 1 AS i,
    MIN(r) OVER (PARTITION BY pid) AS r0
  FROM pr
), w AS (
  SELECT
    pid,
    cday,
    first_ts,
    r,
    r0,
    i,
    MAX(s) OVER (PARTITION BY pid ORDER BY r NULLS LAST ROWS BETWEEN 5 PRECEDING AND CURRENT ROW) AS v,
    LAG(r, 6) OVER (PARTITION BY pid ORDER BY r NULLS LAST) AS r_w0,
    SUM(n_ev) OVER (PARTITION BY pid ORDER BY r NULLS LAST ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS burst_events,
    MIN(cday) OVER (PARTITION BY pid ORDER BY r NULLS LAST ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS burst_day0,
    SUM(CASE WHEN s <= 1 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c1,
    SUM(CASE WHEN s <= 2 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c2,
    SUM(CASE WHEN s <= 3 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c3,
    SUM(CASE WHEN s <= 4 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c4,
    SUM(CASE WHEN s <= 5 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c5,
    SUM(CASE WHEN s <= 6 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c6,
    SUM(CASE WHEN s <= 7 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c7,
    SUM(CASE WHEN s <= 8 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c8,
    SUM(CASE WHEN s <= 9 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c9,
    SUM(CASE WHEN s <= 10 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c10,
    SUM(CASE WHEN s <= 11 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c11,
    SUM(CASE WHEN s <= 12 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c12,
    SUM(CASE WHEN s <= 13 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c13,
    SUM(CASE WHEN s <= 14 THEN 1 ELSE 0 END) OVER (
      PARTITION BY pid
      ORDER BY r NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS c14
  FROM sp
), t AS (
  SELECT
    pid,
    cday,
    first_ts,
    r,
    r0,
    i,
    v,
    r_w0,
    burst_events,
    burst_day0,
    CASE v
      WHEN 1
      THEN c1
      WHEN 2
      THEN c2
      WHEN 3
      THEN c3
      WHEN 4
      THEN c4
      WHEN 5
      THEN c5
      WHEN 6
      THEN c6
      WHEN 7
      THEN c7
      WHEN 8
      THEN c8
      WHEN 9
      THEN c9
      WHEN 10
      THEN c10
      WHEN 11
      THEN c11
      WHEN 12
      THEN c12
      WHEN 13
      THEN c13
      WHEN 14
      THEN c14
      ELSE NULL
    END AS cv,
    CASE v
      WHEN 1
      THEN 0
      WHEN 2
      THEN c1
      WHEN 3
      THEN c2
      WHEN 4
      THEN c3
      WHEN 5
      THEN c4
      WHEN 6
      THEN c5
      WHEN 7
      THEN c6
      WHEN 8
      THEN c7
      WHEN 9
      THEN c8
      WHEN 10
      THEN c9
      WHEN 11
      THEN c10
      WHEN 12
      THEN c11
      WHEN 13
      THEN c12
      WHEN 14
      THEN c13
      ELSE NULL
    END AS cprev,
    CASE
      WHEN c1 >= 6
      THEN c1
      WHEN c2 >= 6
      THEN c2
      WHEN c3 >= 6
      THEN c3
      WHEN c4 >= 6
      THEN c4
      WHEN c5 >= 6
      THEN c5
      WHEN c6 >= 6
      THEN c6
      WHEN c7 >= 6
      THEN c7
      WHEN c8 >= 6
      THEN c8
      WHEN c9 >= 6
      THEN c9
      WHEN c10 >= 6
      THEN c10
      WHEN c11 >= 6
      THEN c11
      WHEN c12 >= 6
      THEN c12
      WHEN c13 >= 6
      THEN c13
      WHEN c14 >= 6
      THEN c14
      ELSE NULL
    END AS cmin,
    c14 AS c_max
  FROM w
  WHERE
    i > 6
), s AS (
  SELECT
    *,
    COALESCE(
      (
        CAST(cv - 0 AS DOUBLE) * CAST(cv - 1 AS DOUBLE) * CAST(cv - 2 AS DOUBLE) * CAST(cv - 3 AS DOUBLE) * CAST(cv - 4 AS DOUBLE) * CAST(cv - 5 AS DOUBLE) / 720.0
      ) / (
        CAST(i - 0 AS DOUBLE) * CAST(i - 1 AS DOUBLE) * CAST(i - 2 AS DOUBLE) * CAST(i - 3 AS DOUBLE) * CAST(i - 4 AS DOUBLE) * CAST(i - 5 AS DOUBLE) / 720.0
      ),
      1.0
    ) AS p,
    COALESCE(
      (
        CAST(cprev - 0 AS DOUBLE) * CAST(cprev - 1 AS DOUBLE) * CAST(cprev - 2 AS DOUBLE) * CAST(cprev - 3 AS DOUBLE) * CAST(cprev - 4 AS DOUBLE) * CAST(cprev - 5 AS DOUBLE) / 720.0
      ) / (
        CAST(i - 0 AS DOUBLE) * CAST(i - 1 AS DOUBLE) * CAST(i - 2 AS DOUBLE) * CAST(i - 3 AS DOUBLE) * CAST(i - 4 AS DOUBLE) * CAST(i - 5 AS DOUBLE) / 720.0
      ),
      1.0
    ) AS p_below,
    COALESCE(
      (
        CAST(cmin - 0 AS DOUBLE) * CAST(cmin - 1 AS DOUBLE) * CAST(cmin - 2 AS DOUBLE) * CAST(cmin - 3 AS DOUBLE) * CAST(cmin - 4 AS DOUBLE) * CAST(cmin - 5 AS DOUBLE) / 720.0
      ) / (
        CAST(i - 0 AS DOUBLE) * CAST(i - 1 AS DOUBLE) * CAST(i - 2 AS DOUBLE) * CAST(i - 3 AS DOUBLE) * CAST(i - 4 AS DOUBLE) * CAST(i - 5 AS DOUBLE) / 720.0
      ),
      1.0
    ) AS pmin
  FROM t
), cand AS (
  SELECT
    s.*,
    pk.platform,
    pk.a,
    pk.b
  FROM s
  JOIN pk
    ON pk.pid = s.pid
  WHERE
    s.p <= 0.05 AND s.pmin <= 0.05
), cdays AS (
  SELECT
    c.platform,
    c.a,
    c.b,
    c.cday,
    pr.cday AS eday
  FROM cand AS c
  JOIN pr
    ON pr.pid = c.pid AND pr.r BETWEEN c.r_w0 AND c.r
), evid AS (
  SELECT
    cd.platform,
    cd.a,
    cd.b,
    cd.cday,
    COLLECT_LIST(e.id) AS ids,
    COLLECT_LIST(e.kind) AS kinds,
    MIN(e.ts) AS start_ts,
    MAX(e.ts) AS end_ts
  FROM cdays AS cd
  JOIN (
    SELECT
      id,
      ts,
      platform,
      actor,
      kind,
      target
    FROM events
    WHERE
      NOT ts IS NULL AND ts >= :since AND ts < :until
  ) AS e
    ON e.platform = cd.platform
    AND e.actor = cd.a
    AND e.target = cd.b
    AND DATE_TRUNC('DAY', e.ts) = cd.eday
    AND e.kind IN ('like', 'comment', 'reply', 'repost', 'mention', 'message')
  GROUP BY
    cd.platform,
    cd.a,
    cd.b,
    cd.cday
)
SELECT
  0 AS is_test,
  c.platform,
  c.a,
  c.b,
  c.cday,
  c.first_ts,
  c.r,
  c.r0,
  c.r_w0,
  c.i,
  c.p,
  c.pmin,
  c.burst_events,
  c.burst_day0,
  ev.ids,
  ev.kinds,
  ev.start_ts,
  ev.end_ts,
  CAST(1 AS BIGINT) AS tests
FROM cand AS c
JOIN evid AS ev
  ON ev.platform = c.platform AND ev.a = c.a AND ev.b = c.b AND ev.cday = c.cday
UNION ALL
SELECT
  1 AS is_test,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  pmin,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  COUNT(*) AS tests
FROM s
GROUP BY
  pmin
