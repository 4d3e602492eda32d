SELECT
  COUNT(*)
FROM (
  SELECT
    1
  FROM record_deletes
  WHERE
    collection = 'app.bsky.feed.like'
  LIMIT 1
)
