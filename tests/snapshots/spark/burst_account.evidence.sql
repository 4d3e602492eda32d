WITH ev AS (
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
), kb AS (
  SELECT DISTINCT
    platform,
    b
  FROM tw_burst_account_kept
), eu AS (
  SELECT
    ev.id,
    ev.ts,
    ev.platform,
    ev.actor,
    ev.target AS b,
    ev.u
  FROM ev
  JOIN kb
    ON kb.platform = ev.platform AND kb.b = ev.target
), ob AS (
  SELECT
    ev.platform,
    ev.actor AS b,
    ev.target AS a,
    ev.u,
    MIN(ev.tus) AS f0,
    MAX(ev.tus) AS f1
  FROM ev
  JOIN kb
    ON kb.platform = ev.platform AND kb.b = ev.actor
  GROUP BY
    ev.platform,
    ev.actor,
    ev.target,
    ev.u
), ea AS (
  SELECT
    eu.*,
    k.kmax
  FROM eu
  JOIN tw_burst_account_kept AS k
    ON k.platform = eu.platform AND k.b = eu.b AND k.u = eu.u
), fa AS (
  SELECT
    platform,
    b,
    u,
    actor,
    MIN(ts) AS first_ts
  FROM ea
  GROUP BY
    platform,
    b,
    u,
    actor
), firsts AS (
  SELECT
    fa.*
  FROM fa
  LEFT JOIN ob AS o1
    ON o1.platform = fa.platform AND o1.b = fa.b AND o1.a = fa.actor AND o1.u = fa.u - 1
  LEFT JOIN ob AS o0
    ON o0.platform = fa.platform AND o0.b = fa.b AND o0.a = fa.actor AND o0.u = fa.u
  WHERE
    (
      o1.b IS NULL OR o1.f1 < UNIX_MICROS(fa.first_ts) - 3600000000
    )
    AND (
      o0.b IS NULL OR o0.f0 > UNIX_MICROS(fa.first_ts)
    )
), ek AS (
  SELECT
    ea.*
  FROM ea
  JOIN firsts AS f
    ON f.platform = ea.platform AND f.b = ea.b AND f.u = ea.u AND f.actor = ea.actor
), arrivals AS (
  SELECT
    platform,
    b,
    u,
    COLLECT_LIST(first_ts) AS arrival_ts,
    COLLECT_LIST(actor) AS arrival_actor
  FROM firsts
  GROUP BY
    platform,
    b,
    u
), nth AS (
  SELECT
    platform,
    b,
    u,
    ts,
    kmax,
    ROW_NUMBER() OVER (PARTITION BY platform, b, u, actor ORDER BY ts NULLS LAST, id NULLS LAST) AS r
  FROM ek
), heavy AS (
  SELECT
    platform,
    b,
    u,
    MIN(ts) AS heavy_ts
  FROM nth
  WHERE
    r = CAST(POWER(4, kmax) AS BIGINT)
  GROUP BY
    platform,
    b,
    u
), evid AS (
  SELECT
    platform,
    b,
    u,
    COLLECT_LIST(id) AS ids,
    MIN(ts) AS start_ts,
    MAX(ts) AS end_ts
  FROM ek
  GROUP BY
    platform,
    b,
    u
)
SELECT
  v.platform,
  v.b,
  v.u,
  v.ids,
  v.start_ts,
  v.end_ts,
  a.arrival_ts,
  a.arrival_actor,
  h.heavy_ts
FROM evid AS v
JOIN arrivals AS a
  ON a.platform = v.platform AND a.b = v.b AND a.u = v.u
JOIN heavy AS h
  ON h.platform = v.platform AND h.b = v.b AND h.u = v.u
