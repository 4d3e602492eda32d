SELECT
  MAX(ts)
FROM (
  SELECT
    *
  FROM events
  WHERE
    NOT ts IS NULL AND ts >= :since AND ts < :until
)
