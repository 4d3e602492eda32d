SELECT
  handle,
  account
FROM (
  SELECT
    LOWER(name) AS handle,
    account,
    0 AS src
  FROM accounts
  WHERE
    platform = 'bluesky' AND CONTAINS(name, '.')
  UNION ALL
  SELECT
    LOWER(handle),
    did,
    1
  FROM watchlist
  WHERE
    NOT handle IS NULL AND NOT did IS NULL
)
ORDER BY
  src NULLS LAST,
  handle NULLS LAST,
  account NULLS LAST
