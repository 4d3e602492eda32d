WITH m AS (
  SELECT
    platform,
    account,
    ts,
    followers
  FROM metrics
  WHERE
    NOT followers IS NULL AND ts >= :since AND ts < :until
), lagged AS (
  SELECT
    *,
    LAG(ts) OVER w AS prev_ts,
    LAG(followers) OVER w AS prev_followers,
    ROW_NUMBER() OVER w AS idx
  FROM m
  WINDOW w AS (PARTITION BY platform, account ORDER BY ts NULLS LAST)
), rates AS (
  SELECT
    *,
    (
      followers - prev_followers
    ) / GREATEST(
      (
        CAST(UNIX_MICROS(ts) - UNIX_MICROS(prev_ts) AS DOUBLE) / 86400000000.0
      ),
      1.0 / 24
    ) AS rate
  FROM lagged
  WHERE
    NOT prev_ts IS NULL
), trail AS (
  SELECT
    *,
    PERCENTILE(rate, 0.5) OVER w AS trend,
    PERCENTILE(rate, 0.25) OVER w AS q1,
    PERCENTILE(rate, 0.75) OVER w AS q3,
    COUNT(rate) OVER w AS n,
    COALESCE(STDDEV_SAMP(rate) OVER w, 0) AS sd
  FROM rates
  WINDOW w AS (
    PARTITION BY platform, account
    ORDER BY ts NULLS LAST
    ROWS BETWEEN 28 PRECEDING AND 1 PRECEDING
  )
), scaled AS (
  SELECT
    *,
    GREATEST(
      CASE
        WHEN q3 > q1
        THEN (
          q3 - q1
        ) / 1.4813941682253657
        ELSE sd / 1.4142135623730951
      END,
      1.0
    ) AS scale
  FROM trail
  WHERE
    n >= 14
)
SELECT
  platform,
  day_,
  account,
  z
FROM (
  SELECT
    platform,
    DATE_TRUNC('DAY', ts) AS day_,
    account,
    z,
    COUNT(*) OVER (PARTITION BY platform, DATE_TRUNC('DAY', ts)) AS n_day
  FROM (
    SELECT
      platform,
      account,
      ts,
      followers,
      prev_ts,
      prev_followers,
      idx,
      trend,
      scale,
      (
        rate - trend
      ) / scale AS z
    FROM scaled
  )
)
WHERE
  n_day >= 3 AND ABS(z) >= :z0
ORDER BY
  platform NULLS LAST,
  day_ NULLS LAST,
  z NULLS LAST,
  account NULLS LAST
