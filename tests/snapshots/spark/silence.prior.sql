SELECT
  e - 1 AS e1,
  n - 1 AS n1,
  COUNT(*) AS pairs
FROM tw_gaps
WHERE
  next_rank IS NULL
GROUP BY
  e - 1,
  n - 1
ORDER BY
  e1 NULLS LAST,
  n1 NULLS LAST
