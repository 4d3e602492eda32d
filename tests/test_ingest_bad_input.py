"""Bad input: clear one-line errors, exact quarantine, --strict refusal, nothing partial after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Cli
from tiewatch.store import Store

GOOD = '{"id":"g%d","ts":"2024-01-01T00:00:%02dZ","actor":"a","kind":"like","target":"b","post":"p"}'
BAD = {
    3: ('{"id":"x3","ts":"2024-01-01","actor":"a","kind":"like"', "bad JSON"),
    5: ('{"id":"x5","ts":"not a time","actor":"a","kind":"like"}', "unparseable time"),
    8: ('{"id":"x8","ts":"2024-01-01","kind":"like"}', "missing actor"),
    10: ('{"id":"x10","ts":"2024-01-01","actor":"a","kind":"hug"}', "unknown kind"),
    12: ('{"id":"x12","ts":"2024-01-01","actor":{"h":1},"kind":"like"}', "wrong type"),
    13: ("[1, 2, 3]", "not a JSON object"),
}


def _planted(path: Path, n: int = 15) -> Path:
    lines = [BAD[i][0] if i in BAD else GOOD % (i, i) for i in range(1, n + 1)]
    lines.insert(6, "")  # a blank line shifts numbering: line 7 is blank, later lines move down by one
    path.write_text("\n".join(lines) + "\n")
    return path


def _expected_lines() -> dict[int, str]:
    return {(i if i < 7 else i + 1): reason for i, (_, reason) in BAD.items()}


def test_planted_bad_lines_go_to_quarantine_exactly(cli: Cli, tmp_path: Path) -> None:
    path = _planted(tmp_path / "mixed.jsonl")
    out = cli.json("ingest", str(path))
    assert out["rejected"] == len(BAD)
    assert out["inserted"]["events"] == 15 - len(BAD)
    rows = cli.json("quarantine")
    got = {r["line"]: r["reason"] for r in rows}
    expected = _expected_lines()
    assert set(got) == set(expected)
    for line, reason in expected.items():
        assert got[line].startswith(reason), (line, got[line])
    assert all(r["file"] == str(path) for r in rows)
    assert '"x5"' in next(r["raw"] for r in rows if r["line"] == 5)
    text = cli("quarantine").stdout
    assert f"{path}:3: bad JSON" in text
    # re-ingest: nothing doubled, in the store or in quarantine
    again = cli.json("ingest", str(path))
    assert again["inserted"]["events"] == 0 and again["rejected"] == len(BAD)
    assert len(cli.json("quarantine")) == len(BAD)


def test_bad_values_in_csv_are_quarantined_with_lines(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("ts,account,followers\n2024-01-01,bob,100\n2024-01-02,bob,lots\n2024-01-03,,90\n"
                    "yesterday,bob,80\n2024-01-05,bob,70\n")
    out = cli.json("ingest", str(path))
    assert out["inserted"]["metrics"] == 2 and out["rejected"] == 3
    got = {r["line"]: r["reason"] for r in cli.json("quarantine")}
    assert got[3].startswith("wrong type: followers") and got[4] == "missing account"
    assert got[5].startswith("unparseable time")


def test_strict_refuses_the_whole_file(cli: Cli, tmp_path: Path) -> None:
    path = _planted(tmp_path / "mixed.jsonl")
    result = cli("ingest", str(path), "--strict", ok=False)
    assert result.exit_code == 1
    assert f"{path}:3: bad JSON" in result.stderr
    assert "Traceback" not in result.output
    stats = cli.json("stats")
    assert stats["events"]["total"] == 0 and stats["quarantine"] == 0


@pytest.mark.parametrize("setup,message", [
    (lambda p: p.write_text(""), "empty file"),
    (lambda p: p.write_bytes(b"\x00\x01\x02garbage\xff\xfe"), "not UTF-8"),
    (lambda p: p.write_text("ts,colour\n2024-01-01,red\n"), "cannot tell which table"),
    (lambda p: p.write_text('{"actor": "a"}\n'), "cannot tell which table"),
])
def test_foreseeable_mistakes_give_one_clear_line(cli: Cli, tmp_path: Path, setup: object, message: str) -> None:
    path = tmp_path / "input.csv"
    setup(path)  # type: ignore[operator]
    result = cli("ingest", str(path), ok=False)
    assert result.exit_code != 0
    assert message in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.output


def test_missing_paths_and_empty_folders(cli: Cli, tmp_path: Path) -> None:
    result = cli("ingest", str(tmp_path / "nope.jsonl"), ok=False)
    assert result.exit_code != 0 and "no such file" in result.stderr
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.md").write_text("hello")
    result = cli("ingest", str(tmp_path / "empty"), ok=False)
    assert result.exit_code != 0 and "no readable files" in result.stderr
    result = cli("ingest", str(tmp_path / "x.jsonl"), "--format", "xml", ok=False)
    assert result.exit_code != 0


def test_unknown_format_named_by_user(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(GOOD % (1, 1) + "\n")
    result = cli("ingest", str(path), "--format", "xml", ok=False)
    assert result.exit_code == 1 and "unknown format 'xml'" in result.stderr


def test_schema_version_mismatch_is_explained(db: Path) -> None:
    Store(db).close()
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    from tiewatch.errors import TiewatchError

    with pytest.raises(TiewatchError, match="newer tiewatch"):
        Store(db)


def test_a_foreign_duckdb_file_is_refused(db: Path) -> None:
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE other (x INT)")
    con.close()
    from tiewatch.errors import TiewatchError

    with pytest.raises(TiewatchError, match="not a tiewatch database"):
        Store(db)


@pytest.mark.slow
def test_kill_minus_nine_mid_ingest_leaves_nothing_partial(tmp_path: Path) -> None:
    small = tmp_path / "a_small.jsonl"
    small.write_text("".join(GOOD % (i, i % 60) + "\n" for i in range(100)))
    big = tmp_path / "b_big.jsonl"
    n_big = 1_500_000
    with open(big, "w") as f:
        for i in range(n_big):
            f.write(f'{{"id":"b{i}","ts":{1700000000 + i},"actor":"u{i % 997}","kind":"like","target":"v{i % 89}"}}\n')
    db = tmp_path / "kill.duckdb"
    cmd = [sys.executable, "-m", "tiewatch", "--db", str(db), "ingest", str(small), str(big), "--json"]
    env = {**os.environ, "TIEWATCH_MEMORY_LIMIT": "1GB"}
    started = time.monotonic()
    full = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    elapsed = time.monotonic() - started
    assert json.loads(full.stdout)["inserted"]["events"] == n_big + 100
    db.unlink()
    killed_mid_file = 0
    for fraction in (0.35, 0.6, 0.8):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(elapsed * fraction)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed_mid_file += 1
        proc.wait()
        with Store(db) as store:
            count = store.count("events")
            assert count in (0, 100, n_big + 100), f"partial file in store: {count} events"
        if count == n_big + 100:
            db.unlink()
    assert killed_mid_file, "the ingest always finished before the kill; make the file larger"
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert json.loads(rerun.stdout)["rejected"] == 0
    with Store(db) as store:
        assert store.count("events") == n_big + 100
        assert store.scalar("SELECT count(DISTINCT id) FROM events") == n_big + 100


def test_an_older_schema_is_migrated_in_place(db: Path) -> None:
    import duckdb

    from tiewatch.store.schema import SCHEMA_VERSION

    Store(db).close()
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE snapshots")  # what a version-1 store lacked
    for table in ("watchlist", "profiles", "record_deletes", "alerts", "track_log"):  # and a version-3 one
        con.execute(f"DROP TABLE {table}")
    for table in ("events", "metrics", "news"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN ingest")
    con.execute("ALTER TABLE ingests DROP COLUMN id")
    con.execute("INSERT INTO events (id, ts, platform, actor, kind) "
                "VALUES ('old', TIMESTAMP '2024-01-01', 'x', 'a', 'post')")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    with Store(db) as store:
        assert store.scalar("SELECT value FROM meta WHERE key = 'schema_version'") == str(SCHEMA_VERSION)
        assert store.count("snapshots") == 0 and store.count("watchlist") == 0
        assert store.scalar("SELECT count(*) FROM events WHERE id = 'old' AND ingest IS NULL") == 1


def test_csv_rows_the_reader_cannot_parse_keep_their_lines(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("ts,account,followers\n2024-01-01,bob,100\n2024-01-02,bob,90,extra,fields\n"
                    "2024-01-03,bob,lots\n2024-01-04,bob,70\n")
    out = cli.json("ingest", str(path))
    assert out["inserted"]["metrics"] == 2 and out["rejected"] == 2
    got = {r["line"]: r["reason"] for r in cli.json("quarantine")}
    assert got[3].startswith("malformed row") and got[4].startswith("wrong type: followers")
