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
    id,
    ts,
    platform,
    actor,
    target,
    CAST(FLOOR(UNIX_MICROS(ts) / 3600000000.0) AS BIGINT) AS u
  FROM ev
), bu AS (
  SELECT
    platform,
    target AS b,
    u,
    COUNT(DISTINCT actor) AS x,
    COUNT(*) AS events
  FROM eu
  GROUP BY
    platform,
    target,
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
        PARTITION BY platform
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS BIGINT) AS nw
  FROM pu
), br AS (
  SELECT
    platform,
    b,
    u,
    x,
    events,
    MIN(u) OVER (PARTITION BY platform, b) AS f,
    CAST(COALESCE(
      SUM(x) OVER (
        PARTITION BY platform, b
        ORDER BY u NULLS LAST
        RANGE BETWEEN 672 PRECEDING AND 1 PRECEDING
      ),
      0
    ) AS BIGINT) AS xr
  FROM bu
), j AS (
  SELECT
    br.platform,
    br.b,
    br.u,
    br.x,
    br.xr,
    br.f,
    br.events,
    pw.n,
    CASE WHEN br.f > br.u - 672 THEN pw.c - pw.n - (
      pf.c - pf.n
    ) ELSE pw.nw END AS nr,
    CASE WHEN br.f > br.u - 672 THEN br.u - br.f ELSE 672 END AS ref_units
  FROM br
  JOIN pw
    ON pw.platform = br.platform AND pw.u = br.u
  JOIN pw AS pf
    ON pf.platform = br.platform AND pf.u = br.f
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
      ELSE (
        s * LN(q) - LN(1.0 - EXP(s * LN(1.0 - q)))
      ) / 2.302585092994046
    END AS log10_pmin,
    CASE
      WHEN nr <= 0
      THEN 0.0
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
      ELSE 0.0
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
  events,
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
  pmin_bin,
  COUNT(*) AS tests
FROM t
GROUP BY
  pmin_bin
