SELECT
  pos,
  COUNT(*) AS tests
FROM tw_spacings
GROUP BY
  pos
ORDER BY
  pos NULLS LAST
