SELECT
  CASE WHEN e >= 5 AND kmax >= 1 THEN e - 1 END AS e1,
  CASE WHEN e >= 5 AND kmax >= 1 THEN n - 1 END AS n1,
  CASE WHEN e >= 5 AND kmax >= 1 THEN kmax END AS kmax,
  COUNT(*) AS tests
FROM tw_gaps
GROUP BY
  1,
  2,
  3
