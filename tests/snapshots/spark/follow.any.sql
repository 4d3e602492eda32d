SELECT
  COUNT(*)
FROM (
  SELECT
    1
  FROM (
    SELECT
      *
    FROM events
    WHERE
      NOT ts IS NULL AND ts >= :since AND ts < :until
  )
  WHERE
    kind IN ('follow', 'unfollow')
  LIMIT 1
)
