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
    CAST(SUM(x) AS BIGINT) AS n
  FROM bu
  GROUP BY
    platform,
    u
), bn AS (
  SELECT
    bu.*,
    pu.n - bu.x + 1 AS n
  FROM bu
  JOIN pu
    ON pu.platform = bu.platform AND pu.u = bu.u
), bw AS (
  SELECT
    platform,
    b,
    u,
    x,
    events,
    heaviest,
    kmax,
    n,
    g1,
    g2,
    g3,
    g4,
    g5,
    g6,
    g7,
    g8,
    CAST(COALESCE(
      SUM(x) OVER (
        PARTITION BY platform, b
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS BIGINT) AS xr,
    CAST(COALESCE(
      SUM(n) OVER (
        PARTITION BY platform, b
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS BIGINT) AS nr,
    COUNT(*) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
    ) AS ref_units,
    COALESCE(
      SUM(g1) OVER (
        PARTITION BY platform, b
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg1,
    COALESCE(
      SUM(g2) OVER (
        PARTITION BY platform, b
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg2,
    COALESCE(
      SUM(g3) OVER (
        PARTITION BY platform, b
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg3,
    COALESCE(
      SUM(g4) OVER (
        PARTITION BY platform, b
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg4,
    COALESCE(
      SUM(g5) OVER (
        PARTITION BY platform, b
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg5,
    COALESCE(
      SUM(g6) OVER (
        PARTITION BY platform, b
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg6,
    COALESCE(
      SUM(g7) OVER (
        PARTITION BY platform, b
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg7,
    COALESCE(
      SUM(g8) OVER (
        PARTITION BY platform, b
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS rg8
  FROM bn
), j AS (
  SELECT
    platform,
    b,
    u,
    x,
    events,
    heaviest,
    kmax,
    n,
    xr,
    nr,
    ref_units,
    CASE kmax
      WHEN 0
      THEN x + xr
      WHEN 1
      THEN g1 + rg1
      WHEN 2
      THEN g2 + rg2
      WHEN 3
      THEN g3 + rg3
      WHEN 4
      THEN g4 + rg4
      WHEN 5
      THEN g5 + rg5
      WHEN 6
      THEN g6 + rg6
      WHEN 7
      THEN g7 + rg7
      WHEN 8
      THEN g8 + rg8
    END AS c
  FROM bw
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
  ref_units,
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
