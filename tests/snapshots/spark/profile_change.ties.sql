WITH ch AS (
  SELECT
    did,
    ts,
    LOWER(COALESCE(description, '') || ' ' || COALESCE(prev_description, '')) AS bios
  FROM (
    SELECT
      *,
      LAG(display_name) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_display_name,
      LAG(description) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_description,
      LAG(avatar) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_avatar,
      LAG(handle) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_handle,
      LAG(status) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_status,
      LAG(ts) OVER (PARTITION BY did ORDER BY ts NULLS LAST) AS prev_ts
    FROM profiles
    WHERE
      status <> 'unavailable' AND ts >= :since AND ts < :until
  )
  WHERE
    NOT prev_ts IS NULL AND description IS DISTINCT FROM prev_description
), h AS (
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
), pairs AS (
  SELECT DISTINCT
    ch.did,
    ch.ts,
    h.account
  FROM ch
  JOIN h
    ON CONTAINS(ch.bios, '@' || h.handle)
), contrib AS (
  SELECT
    p.did,
    p.ts AS at_,
    p.account,
    e.ts,
    e.kind
  FROM pairs AS p
  JOIN events AS e
    ON e.platform = 'bluesky' AND e.actor = p.did AND e.target = p.account
  WHERE
    e.kind IN ('like', 'repost', 'mention', 'comment', 'reply', 'message')
    AND e.ts <= p.ts
  UNION ALL
  SELECT
    p.did,
    p.ts,
    p.account,
    e.ts,
    e.kind
  FROM pairs AS p
  JOIN events AS e
    ON e.platform = 'bluesky' AND e.actor = p.account AND e.target = p.did
  WHERE
    e.kind IN ('like', 'repost', 'mention', 'comment', 'reply', 'message')
    AND e.ts <= p.ts
    AND p.account <> p.did
)
SELECT
  did,
  at_ AS ts,
  account,
  SUM(
    (
      (
        CASE
          WHEN kind = 'like'
          THEN 1.0
          WHEN kind = 'repost'
          THEN 2.0
          WHEN kind = 'mention'
          THEN 2.0
          WHEN kind = 'comment'
          THEN 3.0
          WHEN kind = 'reply'
          THEN 3.0
          WHEN kind = 'message'
          THEN 1.0
          ELSE 0
        END
      ) * POWER(
        2.0,
        -(
          (
            (
              CAST(UNIX_MICROS(at_) AS DOUBLE) / 1e6
            ) - (
              CAST(UNIX_MICROS(ts) AS DOUBLE) / 1e6
            )
          ) / 86400.0
        ) / 90.0
      )
    )
  ) AS tie
FROM contrib
GROUP BY
  did,
  at_,
  account
