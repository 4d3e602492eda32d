WITH eu AS (
  SELECT
    id,
    ts,
    platform,
    actor,
    target,
    UNIX_MICROS(ts) AS tus,
    CAST(FLOOR(UNIX_MICROS(ts) / 3600000000.0) AS BIGINT) AS u
  FROM events
  WHERE
    NOT ts IS NULL
    AND ts >= :since
    AND ts < :until
    AND kind IN ('message', 'mention')
    AND NOT target IS NULL
    AND actor <> target
), pa AS (
  SELECT
    platform,
    target AS b,
    u,
    actor,
    COUNT(*) AS m,
    MIN(tus) AS f,
    MAX(tus) AS fl
  FROM eu
  GROUP BY
    platform,
    target,
    u,
    actor
), ob AS (
  SELECT
    pa.platform,
    pa.actor AS b,
    pa.b AS a,
    pa.u,
    pa.f AS f0,
    pa.fl AS f1
  FROM pa
), sb AS (
  SELECT
    pa.platform,
    pa.b,
    pa.u,
    pa.actor,
    pa.m,
    pa.f
  FROM pa
  LEFT JOIN ob AS o1
    ON o1.platform = pa.platform AND o1.b = pa.b AND o1.a = pa.actor AND o1.u = pa.u - 1
  LEFT JOIN ob AS o0
    ON o0.platform = pa.platform AND o0.b = pa.b AND o0.a = pa.actor AND o0.u = pa.u
  WHERE
    (
      o1.b IS NULL OR o1.f1 < pa.f - 3600000000
    )
    AND (
      o0.b IS NULL OR o0.f0 > pa.f
    )
), sk AS (
  SELECT
    platform,
    b,
    u,
    m,
    f,
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
    3600000 - CAST(FLOOR((
      MIN(f) - u * 3600000000
    ) / 1000.0) AS BIGINT) AS rem,
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
    pu.n - bu.x + 1 AS n,
    (
      pu.n - bu.x + 1
    ) * bu.rem AS w
  FROM bu
  JOIN pu
    ON pu.platform = bu.platform AND pu.u = bu.u
), bc AS (
  SELECT
    *,
    COUNT(*) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
    ) AS ref_units,
    COUNT(*) OVER (
      PARTITION BY platform, b, u % 24
      ORDER BY u NULLS LAST
      RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
    ) AS tn,
    COALESCE(
      SUM(x - 1) OVER (
        PARTITION BY platform, b, u % 24
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS ty,
    COALESCE(
      SUM(w) OVER (
        PARTITION BY platform, b, u % 24
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS tw,
    ROW_NUMBER() OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS rn,
    SUM(x) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cx,
    SUM(n) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cn,
    SUM(w) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cw,
    SUM(rem) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS crem,
    SUM(g1) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cg1,
    SUM(g2) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cg2,
    SUM(g3) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cg3,
    SUM(g4) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cg4,
    SUM(g5) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cg5,
    SUM(g6) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cg6,
    SUM(g7) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cg7,
    SUM(g8) OVER (
      PARTITION BY platform, b
      ORDER BY u NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cg8
  FROM bn
), j AS (
  SELECT
    h.platform,
    h.b,
    h.u,
    h.x,
    h.events,
    h.heaviest,
    h.kmax,
    h.n,
    h.ref_units,
    h.tn,
    CAST(h.ty AS BIGINT) AS ty,
    CAST(h.tw AS BIGINT) AS tw,
    1.0 - CAST(h.rem AS DOUBLE) / 3600000 AS tau,
    CAST(h.cx - h.x - COALESCE(lo.cx, 0) AS BIGINT) AS xr,
    CAST(h.cn - h.n - COALESCE(lo.cn, 0) AS BIGINT) AS nr,
    h.n * GREATEST(h.rem, 900000) AS wt,
    CAST(h.cw - h.w - COALESCE(lo.cw, 0) AS BIGINT) AS wr,
    GREATEST(h.rem, 900000) AS wtf,
    CAST(h.crem - h.rem - COALESCE(lo.crem, 0) AS BIGINT) AS wrf,
    CAST(CASE h.kmax
      WHEN 0
      THEN h.cx - COALESCE(lo.cx, 0)
      WHEN 1
      THEN h.cg1 - COALESCE(lo.cg1, 0)
      WHEN 2
      THEN h.cg2 - COALESCE(lo.cg2, 0)
      WHEN 3
      THEN h.cg3 - COALESCE(lo.cg3, 0)
      WHEN 4
      THEN h.cg4 - COALESCE(lo.cg4, 0)
      WHEN 5
      THEN h.cg5 - COALESCE(lo.cg5, 0)
      WHEN 6
      THEN h.cg6 - COALESCE(lo.cg6, 0)
      WHEN 7
      THEN h.cg7 - COALESCE(lo.cg7, 0)
      WHEN 8
      THEN h.cg8 - COALESCE(lo.cg8, 0)
    END AS BIGINT) AS c
  FROM bc AS h
  LEFT JOIN bc AS lo
    ON lo.platform = h.platform AND lo.b = h.b AND lo.rn = h.rn - h.ref_units - 1
), k AS (
  SELECT
    *,
    x + xr AS s,
    x - 1 AS y,
    xr - ref_units AS yr,
    x - 1 + xr - ref_units AS s2,
    CAST(x - 1 AS DOUBLE) / GREATEST(x - 1 + xr - ref_units, 1) AS fy,
    CASE
      WHEN nr > 0
      THEN GREATEST(CAST(wt AS DOUBLE) / (
        wt + wr
      ), CAST(wtf AS DOUBLE) / (
        wtf + wrf
      ))
      ELSE 1.0
    END AS q2,
    x - 1 + ty AS s3,
    CASE WHEN tn > 0 THEN CAST(wt AS DOUBLE) / (
      wt + tw
    ) ELSE 1.0 END AS q3
  FROM j
), l AS (
  SELECT
    *,
    CASE
      WHEN nr <= 0
      THEN 0.0
      ELSE LEAST(
        0.0,
        LN(2.0) + LEAST(
          GREATEST(
            CASE WHEN s2 > 0 THEN s2 * LN(q2) ELSE 0.0 END,
            CASE WHEN tn < 7 THEN -1e+300 WHEN s3 > 0 THEN s3 * LN(q3) ELSE 0.0 END
          ),
          -LN(s)
        )
      ) / 2.302585092994046
    END AS log10_pmin,
    CASE
      WHEN nr <= 0
      THEN 0.0
      ELSE LEAST(
        0.0,
        LN(2.0) + LEAST(
          CASE
            WHEN y = 0
            THEN 0.0
            WHEN y = s2
            THEN s2 * LN(q2)
            WHEN y > s2 * q2
            THEN -s2 * (
              fy * LN(fy / q2) + (
                1.0 - fy
              ) * LN((
                1.0 - fy
              ) / (
                1.0 - q2
              ))
            ) - 0.5 * LN(8.0 * y * (
              1.0 - fy
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
  yr,
  n,
  nr,
  tau,
  wt,
  wr,
  wtf,
  wrf,
  tn,
  ty,
  tw,
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
