"""The burst query numbers its pairs and actors (integer keys through its aggregates, joins and window sorts):
each pair's days of contact and their active-day ranks, from which every test is computed per pair, are
those the string-keyed formulation gave."""

from __future__ import annotations

from pathlib import Path

from test_detect_scale import skewed_events

from conftest import COLLEGEMSG, Cli
from tiewatch.detect.base import Context, Window
from tiewatch.detect.burst import _tests_ctes
from tiewatch.detect.dialect import DUCKDB
from tiewatch.store import Store

KINDS = "'like', 'comment', 'reply', 'repost', 'mention', 'message'"
EVENTS = "(SELECT id, ts, platform, actor, kind, target FROM events WHERE ts IS NOT NULL)"
# The string-keyed formulation, as it was before the numbering: one row per (pair, day of contact) of the
# pairs with more than 7 engagements, with the day's rank among the actor's active days.
REFERENCE = f"""
    WITH pk AS (SELECT platform, actor AS a, target AS b FROM {EVENTS}
                WHERE kind IN ({KINDS}) AND target IS NOT NULL AND actor <> target
                GROUP BY platform, actor, target HAVING count(*) > 7),
    act AS (SELECT platform, actor AS a, date_trunc('day', ts) AS cday FROM {EVENTS}
            WHERE actor IN (SELECT a FROM pk) GROUP BY platform, actor, date_trunc('day', ts)),
    ar AS (SELECT platform, a, cday, row_number() OVER (PARTITION BY platform, a ORDER BY cday) AS r FROM act),
    pd AS (SELECT e.platform, e.actor AS a, e.target AS b, date_trunc('day', e.ts) AS cday, count(*) AS n_ev,
                  min(e.ts) AS first_ts
           FROM {EVENTS} e JOIN pk ON pk.platform = e.platform AND pk.a = e.actor AND pk.b = e.target
           WHERE e.kind IN ({KINDS}) AND e.target IS NOT NULL AND e.actor <> e.target
           GROUP BY e.platform, e.actor, e.target, date_trunc('day', e.ts))
    SELECT pd.platform, pd.a, pd.b, pd.cday, pd.n_ev, pd.first_ts, ar.r
    FROM pd JOIN ar ON ar.platform = pd.platform AND ar.a = pd.a AND ar.cday = pd.cday"""


def assert_same_contact_days(db: Path) -> int:
    with Store(db, read_only=True) as store:
        ctx = Context(store=store, dialect=DUCKDB, window=Window(), keep_p=0.05)
        new = store.arrow(f"""{_tests_ctes(ctx)}
            SELECT pk.platform, pk.a, pk.b, pr.cday, pr.n_ev, pr.first_ts, pr.r FROM pr JOIN pk ON pk.pid = pr.pid
            ORDER BY 1, 2, 3, 4""").to_pylist()
        old = store.arrow(f"SELECT * FROM ({REFERENCE}) ORDER BY 1, 2, 3, 4").to_pylist()
    assert new == old
    return len(new)


def test_numbered_pairs_have_the_same_contact_days_on_collegemsg(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "c.duckdb")
    cli("ingest", str(COLLEGEMSG), "--map", "actor=src", "--map", "target=dst", "--map", "ts=time",
        "--set", "kind=message", "--set", "platform=collegemsg")
    assert assert_same_contact_days(cli.db) > 5000


def test_numbered_pairs_have_the_same_contact_days_on_skewed_data_and_the_seed(tmp_path: Path,
                                                                                 seed_db: Path) -> None:
    cli = Cli(tmp_path / "s.duckdb")
    cli("ingest", str(skewed_events(tmp_path / "s.jsonl")))
    assert assert_same_contact_days(cli.db) > 1000
    assert assert_same_contact_days(seed_db) > 100
