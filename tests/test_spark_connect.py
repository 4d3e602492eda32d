"""Spark Connect (`--remote sc://...`): the same signals through a real Spark Connect server.

The server is pyspark's own (`SparkConnectServer`, shipped in pyspark's jars), started with spark-submit on
127.0.0.1 for this module; the client runs in a subprocess (a Connect client and the classic session of
test_spark.py do not share one Python process well). `tiewatch detect --remote` itself is run by the CLI test
of an unreachable server.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

if os.environ.get("CI"):
    import grpc  # noqa: F401  (make test installs the spark-connect extra: missing is a failure in CI)
    import pyspark
else:
    pyspark = pytest.importorskip("pyspark")
    pytest.importorskip("grpc")

from tiewatch.lake import export_lake, table_files
from tiewatch.store import Store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = Path(pyspark.__file__).parent
    port = _free_port()
    log = tmp_path_factory.mktemp("connect") / "server.log"
    env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOCAL_IP="127.0.0.1")
    cmd = [str(home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
           "--master", "local[2]", "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
           "--conf", f"spark.connect.grpc.binding.port={port}", "--conf", "spark.ui.enabled=false",
           "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
           "--conf", "spark.sql.shuffle.partitions=2", "spark-internal"]
    with log.open("w") as out:
        server = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"Spark Connect server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


CLIENT = """
import json, sys
from tiewatch.detect.base import Context, Window
from tiewatch.detect.coincidence import CoincidenceDetector
from tiewatch.detect.dialect import DUCKDB
from tiewatch.engines.spark import SparkEngine, spark_session
from tiewatch.store import Store

db, remote, lake = sys.argv[1:]
with Store(db) as store:
    engine = SparkEngine(spark_session(remote=remote), lake)
    out = CoincidenceDetector().run(Context(store=store, dialect=DUCKDB, window=Window(), keep_p=0.05,
                                            engine=engine))
    engine.close()
    engine.spark.stop()  # the Connect client's threads would keep this process alive
print(json.dumps({"tests": out.tests, "signals": [[s.kind, s.ts.isoformat(), s.subjects, s.evidence, s.summary,
                                                  s.p_value, s.weight] for s in out.signals]}))
"""


def _candidates(store: Store) -> dict[str, object]:
    from tiewatch.detect.base import Context, Window
    from tiewatch.detect.coincidence import CoincidenceDetector
    from tiewatch.detect.dialect import DUCKDB

    out = CoincidenceDetector().run(Context(store=store, dialect=DUCKDB, window=Window(), keep_p=0.05))
    return {"tests": out.tests, "signals": [[s.kind, s.ts.isoformat() if s.ts else None, s.subjects, s.evidence,
                                             s.summary, s.p_value, s.weight] for s in out.signals]}


@pytest.mark.slow
def test_coincidence_through_spark_connect_finds_what_duckdb_finds(seed_db: Path, tmp_path: Path,
                                                                   connect_url: str) -> None:
    # The converted detector's candidates, tests and p-values, compared directly: a whole run would also count
    # the tests of detectors that still read the store, on which the false-discovery threshold depends.
    with Store(seed_db, read_only=True) as src:
        duck = _candidates(src)
        lake = tmp_path / "lake"
        export_lake(src.con, lake)
    spark_db = tmp_path / "spark.duckdb"  # no events: only what Spark reads from the lake can find them
    with Store(spark_db) as out:
        (accounts,) = table_files(lake, "accounts")
        out.con.execute("INSERT INTO accounts (platform, account, name, person, kind) "
                        f"SELECT platform, account, name, person, kind FROM read_parquet('{accounts}')")
    run = subprocess.run([sys.executable, "-c", CLIENT, str(spark_db), connect_url, str(lake)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    spark = json.loads(run.stdout.strip().splitlines()[-1])
    assert duck["signals"], "the seed plants a coincidence candidate"
    assert spark["tests"] == duck["tests"]
    assert len(spark["signals"]) == len(duck["signals"])  # type: ignore[arg-type]
    for a, b in zip(duck["signals"], spark["signals"], strict=True):  # type: ignore[call-overload]
        assert a[:5] == b[:5]
        assert abs(a[5] - b[5]) <= 1e-9 * abs(a[5]) and abs(a[6] - b[6]) <= 1e-9 * abs(a[6])


def test_an_unreachable_connect_server_is_one_line(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there
    with Store(tmp_path / "x.duckdb") as store:
        export_lake(store.con, tmp_path / "lake")
    run = subprocess.run([sys.executable, "-m", "tiewatch", "--db", str(tmp_path / "x.duckdb"), "detect",
                          "--engine", "spark", "--remote", f"sc://127.0.0.1:{port}", "--lake",
                          str(tmp_path / "lake")], capture_output=True, text=True, timeout=300)
    assert "no Spark Connect server answers" in run.stderr
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("Error [spark_unavailable]: ")
