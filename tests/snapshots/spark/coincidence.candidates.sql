WITH ev AS (
  SELECT
    *
  FROM events
  WHERE
    NOT ts IS NULL AND ts >= :since AND ts < :until
), nw AS (
  SELECT
    id,
    ts,
    title,
    url,
    subjects
  FROM news
  WHERE
    ts >= :since AND ts < :until
), ns AS (
  SELECT
    n.id AS news_id,
    n.ts AS news_ts,
    EXPLODE(n.subjects) AS subject
  FROM nw AS n
), edges AS (
  SELECT
    platform,
    actor AS x,
    target AS s,
    ts,
    kind,
    0 AS inbound
  FROM ev
  WHERE
    kind IN ('like', 'repost', 'mention', 'comment', 'reply', 'message')
    AND NOT target IS NULL
    AND actor <> target
  UNION ALL
  SELECT
    platform,
    target AS x,
    actor AS s,
    ts,
    kind,
    1 AS inbound
  FROM ev
  WHERE
    kind IN ('like', 'repost', 'mention', 'comment', 'reply', 'message')
    AND NOT target IS NULL
    AND actor <> target
), earlier AS (
  SELECT
    ns.news_id,
    ns.subject,
    EXPLODE(n2.subjects) AS x
  FROM ns
  JOIN nw AS n2
    ON n2.ts < ns.news_ts AND ARRAY_CONTAINS(n2.subjects, ns.subject)
), wanted AS (
  SELECT
    platform,
    x,
    s
  FROM edges
  GROUP BY
    platform,
    x,
    s
  HAVING
    MIN(inbound) = 0 AND MAX(inbound) = 1
  UNION
  SELECT
    a.platform,
    er.x,
    er.subject
  FROM earlier AS er
  JOIN accounts AS a
    ON a.account = er.x
), tie_edges AS (
  SELECT
    e.*
  FROM edges AS e
  JOIN wanted AS w
    ON w.platform = e.platform AND w.x = e.x AND w.s = e.s
), tie AS (
  SELECT
    ns.news_id,
    e.platform,
    e.x,
    ns.subject,
    SUM(
      CASE
        WHEN e.kind = 'like'
        THEN 1.0
        WHEN e.kind = 'repost'
        THEN 2.0
        WHEN e.kind = 'mention'
        THEN 2.0
        WHEN e.kind = 'comment'
        THEN 3.0
        WHEN e.kind = 'reply'
        THEN 3.0
        WHEN e.kind = 'message'
        THEN 1.0
        ELSE 0
      END
    ) AS tie_was,
    SUM(CASE WHEN e.inbound = 0 THEN 1 ELSE 0 END) AS out_n,
    SUM(CASE WHEN e.inbound = 1 THEN 1 ELSE 0 END) AS in_n
  FROM ns
  JOIN tie_edges AS e
    ON e.s = ns.subject
    AND e.ts < ns.news_ts
    AND e.ts >= (
      ns.news_ts - MAKE_DT_INTERVAL(
        0,
        0,
        0,
        CAST(CAST(CAST(63072000000000 AS BIGINT) AS DECIMAL(20, 0)) / 1000000 AS DECIMAL(18, 6))
      )
    )
  GROUP BY
    ns.news_id,
    e.platform,
    e.x,
    ns.subject
), top_ties AS (
  SELECT
    news_id,
    platform,
    x,
    subject,
    tie_was,
    0 AS shared
  FROM (
    SELECT
      *,
      ROW_NUMBER() OVER (PARTITION BY news_id, subject ORDER BY tie_was DESC, x NULLS LAST) AS r
    FROM tie
    WHERE
      out_n > 0 AND in_n > 0
  )
  WHERE
    r <= 10
), shared AS (
  SELECT DISTINCT
    er.news_id,
    a.platform,
    er.x,
    er.subject,
    COALESCE(t.tie_was, 0) AS tie_was,
    1 AS shared
  FROM earlier AS er
  JOIN accounts AS a
    ON a.account = er.x
  LEFT JOIN tie AS t
    ON t.news_id = er.news_id
    AND t.x = er.x
    AND t.subject = er.subject
    AND t.platform = a.platform
  WHERE
    er.x <> er.subject
), cand0 AS (
  SELECT
    *
  FROM top_ties
  UNION ALL
  SELECT
    *
  FROM shared
), cand AS (
  SELECT
    c.news_id,
    c.platform,
    c.x,
    MAX(c.tie_was) AS tie_was,
    MAX(c.shared) AS shared,
    MIN_BY(c.subject, -(
      c.tie_was + 1000000 * c.shared
    )) AS via
  FROM cand0 AS c
  JOIN nw AS n
    ON n.id = c.news_id
  WHERE
    NOT ARRAY_CONTAINS(n.subjects, c.x)
  GROUP BY
    c.news_id,
    c.platform,
    c.x
), first_seen AS (
  SELECT
    platform,
    actor,
    MIN(ts) AS first_ts
  FROM ev
  GROUP BY
    platform,
    actor
), content AS (
  SELECT
    platform,
    actor,
    kind,
    ts,
    id,
    text
  FROM ev
  WHERE
    kind IN ('post', 'story')
), history AS (
  SELECT
    c.news_id,
    c.platform,
    c.x,
    ct.kind,
    COUNT(*) AS items
  FROM cand AS c
  JOIN nw AS n
    ON n.id = c.news_id
  JOIN content AS ct
    ON ct.platform = c.platform
    AND ct.actor = c.x
    AND ct.ts < n.ts
    AND ct.ts >= (
      n.ts - MAKE_DT_INTERVAL(
        0,
        0,
        0,
        CAST(CAST(CAST(31536000000000 AS BIGINT) AS DECIMAL(20, 0)) / 1000000 AS DECIMAL(18, 6))
      )
    )
  GROUP BY
    c.news_id,
    c.platform,
    c.x,
    ct.kind
  HAVING
    COUNT(*) >= 3
), after_ AS (
  SELECT
    h.news_id,
    h.platform,
    h.x,
    h.kind,
    MIN(ct.ts) AS post_ts,
    MIN_BY(ct.id, ct.ts) AS post_id,
    MIN_BY(ct.text, ct.ts) AS post_text
  FROM history AS h
  JOIN nw AS n
    ON n.id = h.news_id
  JOIN content AS ct
    ON ct.platform = h.platform
    AND ct.actor = h.x
    AND ct.kind = h.kind
    AND ct.ts > n.ts
    AND ct.ts <= (
      n.ts + MAKE_DT_INTERVAL(
        0,
        0,
        0,
        CAST(CAST(CAST(259200000000 AS BIGINT) AS DECIMAL(20, 0)) / 1000000 AS DECIMAL(18, 6))
      )
    )
  GROUP BY
    h.news_id,
    h.platform,
    h.x,
    h.kind
)
SELECT
  h.news_id,
  n.ts AS news_ts,
  n.title,
  n.url,
  h.platform,
  h.x,
  h.kind,
  h.items,
  (
    CAST(UNIX_MICROS(n.ts) - UNIX_MICROS(
      GREATEST(
        fs.first_ts,
        (
          n.ts - MAKE_DT_INTERVAL(
            0,
            0,
            0,
            CAST(CAST(CAST(31536000000000 AS BIGINT) AS DECIMAL(20, 0)) / 1000000 AS DECIMAL(18, 6))
          )
        )
      )
    ) AS DOUBLE) / 86400000000.0
  ) AS span_days,
  c.tie_was,
  c.shared,
  c.via,
  a.post_ts,
  a.post_id,
  a.post_text,
  (
    CAST(UNIX_MICROS(a.post_ts) - UNIX_MICROS(n.ts) AS DOUBLE) / 86400000000.0
  ) AS delta_days
FROM history AS h
JOIN cand AS c
  ON c.news_id = h.news_id AND c.platform = h.platform AND c.x = h.x
JOIN nw AS n
  ON n.id = h.news_id
JOIN first_seen AS fs
  ON fs.platform = h.platform AND fs.actor = h.x
LEFT JOIN after_ AS a
  ON a.news_id = h.news_id AND a.platform = h.platform AND a.x = h.x AND a.kind = h.kind
ORDER BY
  h.news_id NULLS LAST,
  h.x NULLS LAST,
  h.kind NULLS LAST
