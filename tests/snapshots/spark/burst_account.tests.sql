WITH ev AS (
  SELECT
    id,
    ts,
    platform,
    actor,
    target,
    kind
  FROM events
  WHERE
    NOT ts IS NULL
    AND ts >= :since
    AND ts < :until
    AND kind IN ('message', 'mention')
    AND NOT target IS NULL
    AND actor <> target
), eu AS (
  SELECT
    platform,
    actor,
    target,
    CAST(FLOOR(UNIX_MICROS(ts) / 3600000000.0) AS BIGINT) AS u
  FROM ev
), sb AS (
  SELECT
    platform,
    target AS b,
    u,
    actor,
    COUNT(*) AS m
  FROM eu
  GROUP BY
    platform,
    target,
    u,
    actor
), sk AS (
  SELECT
    platform,
    b,
    u,
    m,
    CAST(LEAST(FLOOR(LN(CAST(m AS DOUBLE)) / 1.3862943611198906 + 1e-9), 8.0) AS BIGINT) AS k
  FROM sb
), bu AS (
  SELECT
    platform,
    b,
    u,
    CAST(FLOOR(u / 24.0) AS BIGINT) AS d,
    COUNT(*) AS x,
    SUM(m) AS events,
    MAX(m) AS heaviest,
    MAX(k) AS kmax,
    SUM(CASE WHEN k >= 1 THEN 1 ELSE 0 END) AS g1,
    SUM(CASE WHEN k >= 2 THEN 1 ELSE 0 END) AS g2,
    SUM(CASE WHEN k >= 3 THEN 1 ELSE 0 END) AS g3,
    SUM(CASE WHEN k >= 4 THEN 1 ELSE 0 END) AS g4,
    SUM(CASE WHEN k >= 5 THEN 1 ELSE 0 END) AS g5,
    SUM(CASE WHEN k >= 6 THEN 1 ELSE 0 END) AS g6,
    SUM(CASE WHEN k >= 7 THEN 1 ELSE 0 END) AS g7,
    SUM(CASE WHEN k >= 8 THEN 1 ELSE 0 END) AS g8
  FROM sk
  GROUP BY
    platform,
    b,
    u
), pu AS (
  SELECT
    platform,
    u,
    CAST(FLOOR(u / 24.0) AS BIGINT) AS d,
    CAST(SUM(x) AS BIGINT) AS n
  FROM bu
  GROUP BY
    platform,
    u
), pw AS (
  SELECT
    platform,
    u,
    n,
    CAST(SUM(n) OVER (
      PARTITION BY platform
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS BIGINT) AS c,
    CAST(COALESCE(
      SUM(n) OVER (
        PARTITION BY platform, d
        ORDER BY u NULLS LAST
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS BIGINT) AS n_today
  FROM pu
), pd AS (
  SELECT
    platform,
    d,
    CAST(SUM(n) AS BIGINT) AS nd
  FROM pu
  GROUP BY
    platform,
    d
), bd AS (
  SELECT
    platform,
    b,
    d,
    CAST(SUM(x) AS BIGINT) AS xd,
    SUM(g1) AS g1,
    SUM(g2) AS g2,
    SUM(g3) AS g3,
    SUM(g4) AS g4,
    SUM(g5) AS g5,
    SUM(g6) AS g6,
    SUM(g7) AS g7,
    SUM(g8) AS g8
  FROM bu
  GROUP BY
    platform,
    b,
    d
), bw AS (
  SELECT
    bd.platform,
    bd.b,
    bd.d,
    CAST(COALESCE(
      SUM(bd.xd) OVER (
        PARTITION BY bd.platform, bd.b
        ORDER BY bd.d NULLS LAST
        RANGE BETWEEN 28 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS BIGINT) AS x_days,
    CAST(COALESCE(
      SUM(pd.nd) OVER (
        PARTITION BY bd.platform, bd.b
        ORDER BY bd.d NULLS LAST
        RANGE BETWEEN 28 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS BIGINT) AS n_days,
    COUNT(*) OVER (
      PARTITION BY bd.platform, bd.b
      ORDER BY bd.d NULLS LAST
      RANGE BETWEEN 28 PRECEDING AND 1 PRECEDING
    ) AS ref_days,
    COALESCE(
      SUM(bd.g1) OVER (
        PARTITION BY bd.platform, bd.b
        ORDER BY bd.d NULLS LAST
        RANGE BETWEEN 28 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg1,
    COALESCE(
      SUM(bd.g2) OVER (
        PARTITION BY bd.platform, bd.b
        ORDER BY bd.d NULLS LAST
        RANGE BETWEEN 28 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg2,
    COALESCE(
      SUM(bd.g3) OVER (
        PARTITION BY bd.platform, bd.b
        ORDER BY bd.d NULLS LAST
        RANGE BETWEEN 28 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg3,
    COALESCE(
      SUM(bd.g4) OVER (
        PARTITION BY bd.platform, bd.b
        ORDER BY bd.d NULLS LAST
        RANGE BETWEEN 28 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg4,
    COALESCE(
      SUM(bd.g5) OVER (
        PARTITION BY bd.platform, bd.b
        ORDER BY bd.d NULLS LAST
        RANGE BETWEEN 28 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg5,
    COALESCE(
      SUM(bd.g6) OVER (
        PARTITION BY bd.platform, bd.b
        ORDER BY bd.d NULLS LAST
        RANGE BETWEEN 28 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg6,
    COALESCE(
      SUM(bd.g7) OVER (
        PARTITION BY bd.platform, bd.b
        ORDER BY bd.d NULLS LAST
        RANGE BETWEEN 28 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg7,
    COALESCE(
      SUM(bd.g8) OVER (
        PARTITION BY bd.platform, bd.b
        ORDER BY bd.d NULLS LAST
        RANGE BETWEEN 28 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg8
  FROM bd
  JOIN pd
    ON pd.platform = bd.platform AND pd.d = bd.d
), br AS (
  SELECT
    platform,
    b,
    u,
    d,
    x,
    events,
    heaviest,
    kmax,
    g1,
    g2,
    g3,
    g4,
    g5,
    g6,
    g7,
    g8,
    MIN(u) OVER (PARTITION BY platform, b) AS f,
    CAST(COALESCE(
      SUM(x) OVER (
        PARTITION BY platform, b, d
        ORDER BY u NULLS LAST
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS BIGINT) AS x_today,
    COALESCE(
      SUM(g1) OVER (
        PARTITION BY platform, b, d
        ORDER BY u NULLS LAST
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS tg1,
    COALESCE(
      SUM(g2) OVER (
        PARTITION BY platform, b, d
        ORDER BY u NULLS LAST
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS tg2,
    COALESCE(
      SUM(g3) OVER (
        PARTITION BY platform, b, d
        ORDER BY u NULLS LAST
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS tg3,
    COALESCE(
      SUM(g4) OVER (
        PARTITION BY platform, b, d
        ORDER BY u NULLS LAST
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS tg4,
    COALESCE(
      SUM(g5) OVER (
        PARTITION BY platform, b, d
        ORDER BY u NULLS LAST
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS tg5,
    COALESCE(
      SUM(g6) OVER (
        PARTITION BY platform, b, d
        ORDER BY u NULLS LAST
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS tg6,
    COALESCE(
      SUM(g7) OVER (
        PARTITION BY platform, b, d
        ORDER BY u NULLS LAST
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS tg7,
    COALESCE(
      SUM(g8) OVER (
        PARTITION BY platform, b, d
        ORDER BY u NULLS LAST
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS tg8
  FROM bu
), j AS (
  SELECT
    br.platform,
    br.b,
    br.u,
    br.x,
    br.events,
    br.heaviest,
    br.kmax,
    br.f,
    pw.n,
    bw.ref_days,
    bw.x_days + br.x_today AS xr,
    bw.n_days + CASE
      WHEN FLOOR(br.f / 24.0) = br.d
      THEN pw.c - pw.n - (
        pf.c - pf.n
      )
      ELSE pw.n_today
    END AS nr,
    CASE br.kmax
      WHEN 0
      THEN br.x + bw.x_days + br.x_today
      WHEN 1
      THEN br.g1 + bw.rg1 + br.tg1
      WHEN 2
      THEN br.g2 + bw.rg2 + br.tg2
      WHEN 3
      THEN br.g3 + bw.rg3 + br.tg3
      WHEN 4
      THEN br.g4 + bw.rg4 + br.tg4
      WHEN 5
      THEN br.g5 + bw.rg5 + br.tg5
      WHEN 6
      THEN br.g6 + bw.rg6 + br.tg6
      WHEN 7
      THEN br.g7 + bw.rg7 + br.tg7
      WHEN 8
      THEN br.g8 + bw.rg8 + br.tg8
    END AS c
  FROM br
  JOIN pw
    ON pw.platform = br.platform AND pw.u = br.u
  JOIN pw AS pf
    ON pf.platform = br.platform AND pf.u = br.f
  JOIN bw
    ON bw.platform = br.platform AND bw.b = br.b AND bw.d = br.d
), k AS (
  SELECT
    *,
    x + xr AS s,
    CAST(n AS DOUBLE) / (
      n + nr
    ) AS q
  FROM j
), l AS (
  SELECT
    *,
    CASE
      WHEN nr <= 0
      THEN 0.0
      ELSE LEAST(0.0, LN(2.0) + LEAST(s * LN(q) - LN(1.0 - EXP(s * LN(1.0 - q))), -LN(s))) / 2.302585092994046
    END AS log10_pmin,
    CASE
      WHEN nr <= 0
      THEN 0.0
      ELSE LEAST(
        0.0,
        LN(2.0) + LEAST(
          CASE
            WHEN x = s
            THEN s * LN(q)
            WHEN x > s * q
            THEN -s * (
              (
                CAST(x AS DOUBLE) / s
              ) * LN((
                CAST(x AS DOUBLE) / s
              ) / q) + (
                1.0 - CAST(x AS DOUBLE) / s
              ) * LN((
                1.0 - CAST(x AS DOUBLE) / s
              ) / (
                1.0 - q
              ))
            ) - 0.5 * LN(8.0 * x * (
              1.0 - CAST(x AS DOUBLE) / s
            ))
            ELSE LN(0.5)
          END,
          LN(CAST(c AS DOUBLE) / s)
        )
      )
    END AS ln_p_lower
  FROM k
), t AS (
  SELECT
    *,
    CAST(GREATEST(LEAST(FLOOR(log10_pmin * 10.0), 0.0), -1000.0) AS DOUBLE) / 10.0 AS pmin_bin
  FROM l
)
SELECT
  0 AS is_test,
  platform,
  b,
  u,
  x,
  xr,
  n,
  nr,
  c,
  events,
  heaviest,
  kmax,
  ref_days,
  pmin_bin,
  CAST(1 AS BIGINT) AS tests
FROM t
WHERE
  ln_p_lower <= -2.995732273553991 AND pmin_bin <= -1.3010299956639813
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
  NULL,
  NULL,
  pmin_bin,
  COUNT(*) AS tests
FROM t
GROUP BY
  pmin_bin
