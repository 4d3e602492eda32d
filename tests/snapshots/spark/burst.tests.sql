WITH ev AS (
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
), act AS (
  SELECT
    platform,
    actor AS a,
    DATE_TRUNC('DAY', ts) AS cday
  FROM ev
  GROUP BY
    platform,
    actor,
    DATE_TRUNC('DAY', ts)
), ar AS (
  SELECT
    platform,
    a,
    cday,
    ROW_NUMBER() OVER (PARTITION BY platform, a ORDER BY cday NULLS LAST) AS r
  FROM act
), pd AS (
  SELECT
    platform,
    actor AS a,
    target AS b,
    DATE_TRUNC('DAY', ts) AS cday,
    COUNT(*) AS n_ev,
    MIN(ts) AS first_ts
  FROM ev
  WHERE
    kind IN ('like', 'comment', 'reply', 'repost', 'mention', 'message')
    AND NOT target IS NULL
    AND actor <> target
  GROUP BY
    platform,
    actor,
    target,
    DATE_TRUNC('DAY', ts)
), pr AS (
  SELECT
    pd.platform,
    pd.a,
    pd.b,
    pd.cday,
    pd.n_ev,
    pd.first_ts,
    ar.r
  FROM pd
  JOIN ar
    ON ar.platform = pd.platform AND ar.a = pd.a AND ar.cday = pd.cday
), w AS (
  SELECT
    platform,
    a,
    b,
    cday,
    n_ev,
    first_ts,
    r,
    MIN(r) OVER (PARTITION BY platform, a, b) AS r0,
    COUNT(*) OVER (
      PARTITION BY platform, a, b
      ORDER BY r NULLS LAST
      RANGE BETWEEN 6 PRECEDING AND 1 PRECEDING
    ) AS x,
    COUNT(*) OVER (
      PARTITION BY platform, a, b
      ORDER BY r NULLS LAST
      RANGE BETWEEN 181 PRECEDING AND 1 PRECEDING
    ) AS c,
    SUM(n_ev) OVER (
      PARTITION BY platform, a, b
      ORDER BY r NULLS LAST
      RANGE BETWEEN 6 PRECEDING AND CURRENT ROW
    ) AS burst_events,
    MIN(cday) OVER (
      PARTITION BY platform, a, b
      ORDER BY r NULLS LAST
      RANGE BETWEEN 6 PRECEDING AND CURRENT ROW
    ) AS burst_day0
  FROM pr
), t AS (
  SELECT
    platform,
    a,
    b,
    cday,
    first_ts,
    r,
    x,
    burst_events,
    burst_day0,
    LEAST(r - r0 - 1, 181) AS m,
    c - CASE WHEN r - r0 <= 181 THEN 1 ELSE 0 END AS n
  FROM w
  WHERE
    r - r0 - 1 >= 28
), s AS (
  SELECT
    *,
    (
      (
        CASE
          WHEN 0 >= x
          THEN 1.0 * (
            CAST(m - n - 0 AS DOUBLE) * CAST(m - n - 1 AS DOUBLE) * CAST(m - n - 2 AS DOUBLE) * CAST(m - n - 3 AS DOUBLE) * CAST(m - n - 4 AS DOUBLE) * CAST(m - n - 5 AS DOUBLE) / 720.0
          )
          ELSE 0.0
        END + CASE
          WHEN 1 >= x
          THEN (
            CAST(n - 0 AS DOUBLE) / 1.0
          ) * (
            CAST(m - n - 0 AS DOUBLE) * CAST(m - n - 1 AS DOUBLE) * CAST(m - n - 2 AS DOUBLE) * CAST(m - n - 3 AS DOUBLE) * CAST(m - n - 4 AS DOUBLE) / 120.0
          )
          ELSE 0.0
        END + CASE
          WHEN 2 >= x
          THEN (
            CAST(n - 0 AS DOUBLE) * CAST(n - 1 AS DOUBLE) / 2.0
          ) * (
            CAST(m - n - 0 AS DOUBLE) * CAST(m - n - 1 AS DOUBLE) * CAST(m - n - 2 AS DOUBLE) * CAST(m - n - 3 AS DOUBLE) / 24.0
          )
          ELSE 0.0
        END + CASE
          WHEN 3 >= x
          THEN (
            CAST(n - 0 AS DOUBLE) * CAST(n - 1 AS DOUBLE) * CAST(n - 2 AS DOUBLE) / 6.0
          ) * (
            CAST(m - n - 0 AS DOUBLE) * CAST(m - n - 1 AS DOUBLE) * CAST(m - n - 2 AS DOUBLE) / 6.0
          )
          ELSE 0.0
        END + CASE
          WHEN 4 >= x
          THEN (
            CAST(n - 0 AS DOUBLE) * CAST(n - 1 AS DOUBLE) * CAST(n - 2 AS DOUBLE) * CAST(n - 3 AS DOUBLE) / 24.0
          ) * (
            CAST(m - n - 0 AS DOUBLE) * CAST(m - n - 1 AS DOUBLE) / 2.0
          )
          ELSE 0.0
        END + CASE
          WHEN 5 >= x
          THEN (
            CAST(n - 0 AS DOUBLE) * CAST(n - 1 AS DOUBLE) * CAST(n - 2 AS DOUBLE) * CAST(n - 3 AS DOUBLE) * CAST(n - 4 AS DOUBLE) / 120.0
          ) * (
            CAST(m - n - 0 AS DOUBLE) / 1.0
          )
          ELSE 0.0
        END + CASE
          WHEN 6 >= x
          THEN (
            CAST(n - 0 AS DOUBLE) * CAST(n - 1 AS DOUBLE) * CAST(n - 2 AS DOUBLE) * CAST(n - 3 AS DOUBLE) * CAST(n - 4 AS DOUBLE) * CAST(n - 5 AS DOUBLE) / 720.0
          ) * 1.0
          ELSE 0.0
        END
      ) / (
        CAST(m - 0 AS DOUBLE) * CAST(m - 1 AS DOUBLE) * CAST(m - 2 AS DOUBLE) * CAST(m - 3 AS DOUBLE) * CAST(m - 4 AS DOUBLE) * CAST(m - 5 AS DOUBLE) / 720.0
      )
    ) AS p,
    (
      (
        CASE
          WHEN 0 = LEAST(n, 6)
          THEN 1.0 * (
            CAST(m - n - 0 AS DOUBLE) * CAST(m - n - 1 AS DOUBLE) * CAST(m - n - 2 AS DOUBLE) * CAST(m - n - 3 AS DOUBLE) * CAST(m - n - 4 AS DOUBLE) * CAST(m - n - 5 AS DOUBLE) / 720.0
          )
          ELSE 0.0
        END + CASE
          WHEN 1 = LEAST(n, 6)
          THEN (
            CAST(n - 0 AS DOUBLE) / 1.0
          ) * (
            CAST(m - n - 0 AS DOUBLE) * CAST(m - n - 1 AS DOUBLE) * CAST(m - n - 2 AS DOUBLE) * CAST(m - n - 3 AS DOUBLE) * CAST(m - n - 4 AS DOUBLE) / 120.0
          )
          ELSE 0.0
        END + CASE
          WHEN 2 = LEAST(n, 6)
          THEN (
            CAST(n - 0 AS DOUBLE) * CAST(n - 1 AS DOUBLE) / 2.0
          ) * (
            CAST(m - n - 0 AS DOUBLE) * CAST(m - n - 1 AS DOUBLE) * CAST(m - n - 2 AS DOUBLE) * CAST(m - n - 3 AS DOUBLE) / 24.0
          )
          ELSE 0.0
        END + CASE
          WHEN 3 = LEAST(n, 6)
          THEN (
            CAST(n - 0 AS DOUBLE) * CAST(n - 1 AS DOUBLE) * CAST(n - 2 AS DOUBLE) / 6.0
          ) * (
            CAST(m - n - 0 AS DOUBLE) * CAST(m - n - 1 AS DOUBLE) * CAST(m - n - 2 AS DOUBLE) / 6.0
          )
          ELSE 0.0
        END + CASE
          WHEN 4 = LEAST(n, 6)
          THEN (
            CAST(n - 0 AS DOUBLE) * CAST(n - 1 AS DOUBLE) * CAST(n - 2 AS DOUBLE) * CAST(n - 3 AS DOUBLE) / 24.0
          ) * (
            CAST(m - n - 0 AS DOUBLE) * CAST(m - n - 1 AS DOUBLE) / 2.0
          )
          ELSE 0.0
        END + CASE
          WHEN 5 = LEAST(n, 6)
          THEN (
            CAST(n - 0 AS DOUBLE) * CAST(n - 1 AS DOUBLE) * CAST(n - 2 AS DOUBLE) * CAST(n - 3 AS DOUBLE) * CAST(n - 4 AS DOUBLE) / 120.0
          ) * (
            CAST(m - n - 0 AS DOUBLE) / 1.0
          )
          ELSE 0.0
        END + CASE
          WHEN 6 = LEAST(n, 6)
          THEN (
            CAST(n - 0 AS DOUBLE) * CAST(n - 1 AS DOUBLE) * CAST(n - 2 AS DOUBLE) * CAST(n - 3 AS DOUBLE) * CAST(n - 4 AS DOUBLE) * CAST(n - 5 AS DOUBLE) / 720.0
          ) * 1.0
          ELSE 0.0
        END
      ) / (
        CAST(m - 0 AS DOUBLE) * CAST(m - 1 AS DOUBLE) * CAST(m - 2 AS DOUBLE) * CAST(m - 3 AS DOUBLE) * CAST(m - 4 AS DOUBLE) * CAST(m - 5 AS DOUBLE) / 720.0
      )
    ) AS pmin
  FROM t
), cand AS (
  SELECT
    *
  FROM s
  WHERE
    p <= 0.05 AND pmin <= 0.05
), cdays AS (
  SELECT
    c.platform,
    c.a,
    c.b,
    c.cday,
    pr.cday AS eday
  FROM cand AS c
  JOIN pr
    ON pr.platform = c.platform
    AND pr.a = c.a
    AND pr.b = c.b
    AND pr.r BETWEEN c.r - 6 AND c.r
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
  JOIN ev AS e
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
  c.m,
  c.n,
  c.x,
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
