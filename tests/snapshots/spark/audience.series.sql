SELECT
  platform,
  account,
  ts,
  followers
FROM metrics
WHERE
  NOT followers IS NULL AND ts >= :since AND ts < :until
ORDER BY
  platform NULLS LAST,
  account NULLS LAST,
  ts NULLS LAST
