SELECT
  g.*,
  h.e1,
  h.n1,
  h.w
FROM tw_gaps AS g
JOIN tw_hist AS h
  ON h.e1 = g.e - 1 AND h.n1 = g.n - 1 AND h.kmax = g.kmax
WHERE
  g.k >= 1 AND POWER(1.0 - h.pmean, g.k) <= :keep_p * h.w
