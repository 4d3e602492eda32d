"""The detectors compute the t and binomial tails through scipy.special (importing scipy.stats cost a tracker's
first detection over half a second): the same numbers scipy.stats gives, and the parsed-query cache shared by
binding and compiling never leaks one compilation into the next."""

from __future__ import annotations

import numpy as np
from scipy import stats

from tiewatch.detect import audience, platform
from tiewatch.engines.sql import bind, compile_sql


def test_t_tails_are_scipy_stats_to_the_bit() -> None:
    assert 2 * float(stats.t.ppf(0.75, audience.DF)) == audience.IQR_PER_SCALE
    assert float(stats.t.isf(0.005, audience.DF)) == audience.TAIL_CENSOR
    for nu in audience.TAIL_DF:
        assert audience.TAIL_FACTOR[nu] == 2 * float(stats.t.ppf(0.75, nu)) / audience.IQR_PER_SCALE
        for z in np.linspace(-40, 40, 801):
            assert audience.day_p(float(z), nu) == float(2 * stats.t.sf(abs(z) * audience.TAIL_FACTOR[nu], nu))


def test_binomial_tail_matches_scipy_stats() -> None:
    for n in range(platform.MIN_ACCOUNTS, 500):
        x = np.arange(0, min(n, 60) + 1)  # accounts moving among the n observed
        want = stats.binom.sf(x - 1, n, platform.ALPHA0)
        got = platform.bdtrc(x - 1, n, platform.ALPHA0)
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=0)


def test_a_cached_parse_serves_every_engine_unchanged() -> None:
    sql = "SELECT epoch_us(ts) AS t, quantile_cont(x, 0.5) AS m FROM events WHERE ts >= $since GROUP BY 1"
    spark = compile_sql(sql, "spark")
    assert compile_sql(sql, "duckdb") == sql
    assert compile_sql(sql, "spark") == spark
    assert "UNIX_MICROS" in spark and "PERCENTILE" in spark
    assert bind(sql, {"since": 1, "until": 2}) == {"since": 1}
