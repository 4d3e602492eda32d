"""The library API: one object over one tiewatch database, returning typed results.

Every front end (the command line, an HTTP server, the tracker) calls this and only translates: it parses its
own input, calls a method, and prints or serialises the result. Long operations report progress through a
callback (`tiewatch.progress.ProgressEvent`), and every failure a user can cause is a `TiewatchError` with a
machine-readable `code` (see `tiewatch.errors`).

    >>> from tiewatch import Tiewatch
    >>> with Tiewatch("tiewatch.duckdb") as tw:          # doctest: +SKIP
    ...     tw.ingest(["events.jsonl"])
    ...     tw.detect()
    ...     [s.summary for s in tw.signals(kind="silence", limit=3)]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tiewatch.accounts import Account, resolve
from tiewatch.accounts import search as search_accounts
from tiewatch.errors import InvalidInput, NotFound, TiewatchError
from tiewatch.lake import ExportSummary
from tiewatch.progress import ProgressCallback
from tiewatch.store import Store
from tiewatch.timefmt import iso


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.rstrip("Z"))


@dataclass(frozen=True)
class IngestSummary:
    """What an ingest did: rows inserted per table, duplicates, quarantined records, files that failed."""

    files: int
    inserted: dict[str, int]
    duplicates: int
    rejected: int
    errors: list[str] = field(default_factory=list)  # one line per file refused (nothing from it stored)
    skipped: list[str] = field(default_factory=list)  # files inside folders that hold no known table
    set_aside: int = 0  # records deliberately not read (other apps' records in a Bluesky capture)
    warnings: list[str] = field(default_factory=list)  # format drift, snapshots not taken

    def as_json(self) -> dict[str, Any]:
        return {"inserted": dict(self.inserted), "duplicates": self.duplicates, "rejected": self.rejected,
                "set_aside": self.set_aside, "warnings": list(self.warnings), "files": self.files,
                "errors": list(self.errors), "skipped": list(self.skipped)}


@dataclass(frozen=True)
class DetectSummary:
    """Signals stored per kind, tests run per false-discovery family, and the level controlled."""

    counts: dict[str, int]
    tests: dict[str, int]
    fdr: float
    untestable: dict[str, int] = field(default_factory=dict)  # tests that could never pass (Tarone's filter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_json(self) -> dict[str, Any]:
        return {"signals": dict(self.counts), "total": self.total, "tests": dict(self.tests), "fdr": self.fdr,
                "untestable": dict(self.untestable)}


@dataclass(frozen=True)
class SignalRecord:
    """One stored signal. Times are naive UTC; `as_json` gives the documented JSON shape (ISO 8601 with Z)."""

    id: str
    kind: str
    ts: datetime | None
    start: datetime | None
    end: datetime | None
    subjects: list[str]
    score: float
    p_value: float | None
    q_value: float | None
    evidence: list[str]
    summary: str
    detail: dict[str, Any]
    platform: str | None = None

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> SignalRecord:
        return cls(row["id"], row["kind"], _time(row["ts"]), _time(row["start"]), _time(row["end"]),
                   list(row["subjects"]), float(row["score"]), row["p_value"], row["q_value"],
                   list(row["evidence"]), row["summary"] or "", dict(row["detail"] or {}), row.get("platform"))

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("ts", "start", "end"):
            out[k] = iso(out[k])
        return out


@dataclass(frozen=True)
class AccountRecord:
    platform: str
    account: str
    name: str | None
    person: str | None
    kind: str | None
    events: int

    @property
    def label(self) -> str:
        return self.name or self.account

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TieRecord:
    """One tie of an account at a time: decayed engagement out, in, and both together."""

    account: str
    name: str | None
    tie: float
    out: float
    in_: float
    reciprocity: float
    out_engagements: int
    in_engagements: int
    last: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {"account": self.account, "name": self.name, "tie": self.tie, "out": self.out, "in": self.in_,
                "reciprocity": self.reciprocity, "out_engagements": self.out_engagements,
                "in_engagements": self.in_engagements, "last": iso(self.last)}


@dataclass(frozen=True)
class QuarantineRecord:
    file: str
    line: int | None
    reason: str
    raw: str | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class Tiewatch:
    """A tiewatch database and everything that can be asked of it.

    Opening is cheap; nothing is read until a method needs it. Use it as a context manager (or call `close`)
    so the DuckDB file is released for other processes.
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False, create: bool = True,
                 wait: float = 0.0, on_wait: Callable[[str], None] | None = None) -> None:
        """Open the database: read-only ones never create it; `create=False` refuses a missing one; a database
        another process holds is waited for up to `wait` seconds (`on_wait` hears why, once)."""
        self.store = Store(path, read_only=read_only, create=create, wait=wait, on_wait=on_wait)

    @property
    def path(self) -> Path:
        return self.store.path

    def close(self) -> None:
        self.store.close()

    def cursor(self) -> Tiewatch:
        """Another handle on this open database for another thread (a server: one per request)."""
        other = Tiewatch.__new__(Tiewatch)
        other.store = self.store.cursor()
        return other

    def __enter__(self) -> Tiewatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------------
    def ingest(self, paths: list[str | Path], *, table: str | None = None, fmt: str | None = None,
               maps: dict[str, str] | None = None, sets: dict[str, str] | None = None, strict: bool = False,
               as_of: datetime | None = None, progress: ProgressCallback | None = None) -> IngestSummary:
        """Load files, folders and archives: idempotent, all or nothing per file, bad records to quarantine.

        `maps` reads a canonical field from another column ({"ts": "time"}); `sets` fills a field with a
        constant ({"kind": "message"}). `as_of` dates an export that does not date itself (its follower
        snapshot needs a time).
        """
        from tiewatch.ingest.canonical import FieldMapping
        from tiewatch.ingest.run import ingest_paths

        mapping = FieldMapping(dict(maps or {}), dict(sets or {}))
        report = ingest_paths(self.store, list(paths), mapping=mapping, table=table, fmt=fmt, strict=strict,
                              as_of=as_of, progress=progress)
        r = report.result
        return IngestSummary(r.files, dict(r.inserted), r.duplicates, r.rejected, list(report.errors),
                             list(report.skipped), r.set_aside, list(r.warnings))

    def detect(self, *, since: datetime | None = None, until: datetime | None = None, fdr: float = 0.05,
               progress: ProgressCallback | None = None, engine: str = "duckdb", master: str | None = None,
               remote: str | None = None, lake: str | Path | None = None) -> DetectSummary:
        """Run every registered detector, control the false-discovery rate across all tests, store signals.

        `engine="spark"` runs the detectors' SQL on Apache Spark (`master`, default local[2], or a Spark Connect
        server at `remote`, sc://HOST:PORT) over the Parquet lake `lake`; without `lake`, the store is first
        exported (idempotently) to the lake beside it, `<db>.lake`. The signals come back into this store.
        """
        from tiewatch.detect.run import detect
        from tiewatch.views.sentences import render_signals

        run_on = None
        if engine == "spark":
            from tiewatch.engines.spark import SparkEngine, spark_session
            from tiewatch.engines.store_tables import share_store_tables
            from tiewatch.lake import read_manifest

            if lake is None:
                lake = self.export_parquet(self.path.with_name(self.path.name + ".lake")).path
            read_manifest(Path(lake))  # a folder that is not a lake is refused before Spark starts
            run_on = SparkEngine(spark_session(master, remote), lake)
            share_store_tables(run_on, self.store.con)
        elif engine != "duckdb":
            raise InvalidInput(f"--engine {engine}: choose duckdb or spark")
        elif master or remote or lake:
            raise InvalidInput("--master, --remote and --lake are for --engine spark")
        try:
            report = detect(self.store, since=since, until=until, fdr=fdr, progress=progress, engine=run_on,
                            sentences=render_signals)
        finally:
            if run_on is not None:
                run_on.close()
                if remote:  # a Spark Connect client's threads keep the process alive until it stops
                    run_on.spark.stop()
        return DetectSummary(dict(report.counts), dict(report.tests), report.fdr, dict(report.untestable))

    def export_parquet(self, path: str | Path) -> ExportSummary:
        """Write the canonical tables as a Parquet lake (events by platform and month), idempotently: a
        partition already exported with the same rows is not written again (see `tiewatch.lake`)."""
        from tiewatch.lake import export_lake

        return export_lake(self.store.con, path)

    # -- reading -------------------------------------------------------------------------------------
    def signals(self, *, kind: str | None = None, account: str | None = None, since: datetime | None = None,
                until: datetime | None = None, limit: int | None = None) -> list[SignalRecord]:
        """Stored signals, the most significant first (tested ones by q-value, then by score)."""
        from tiewatch.signals import KINDS, list_signals

        if kind is not None and kind not in KINDS:
            raise InvalidInput(f"kind {kind!r}: choose one of {', '.join(KINDS)}")
        _check_limit(limit)
        rows = list_signals(self.store, kind=kind, account=account, since=since, until=until, limit=limit)
        return [SignalRecord.from_json(r) for r in rows]

    def signal(self, signal_id: str) -> SignalRecord:
        """One stored signal by id."""
        from tiewatch.errors import NotFound
        from tiewatch.signals import get_signal

        row = get_signal(self.store, signal_id)
        if row is None:
            raise NotFound(f"no signal {signal_id!r}")
        return SignalRecord.from_json(row)

    def accounts(self, search: str | None = None, limit: int = 100) -> list[AccountRecord]:
        """Accounts whose handle or name contains `search`, most active first."""
        _check_limit(limit)
        return [AccountRecord(**r) for r in search_accounts(self.store, search, limit)]  # type: ignore[arg-type]

    def resolve(self, name: str) -> Account:
        """The one account a handle, `platform:handle` or display name names."""
        return resolve(self.store, name)

    def ties(self, account: str, *, at: datetime | None = None, limit: int = 20) -> list[TieRecord]:
        """An account's strongest ties at a time (default: its latest event), both directions."""
        from tiewatch.detect.ties import ties_of

        _check_limit(limit)
        acc = resolve(self.store, account)
        return [TieRecord(r["account"], r["name"], r["tie"], r["out"], r["in"], r["reciprocity"],
                          int(r["out_engagements"]), int(r["in_engagements"]), r["last"])
                for r in ties_of(self.store, acc.platform, acc.account, at, limit)]

    def pair(self, a: str, b: str, *, bucket: str = "month") -> Any:
        """Both directions of a relationship over time (`tiewatch.views.pair.PairView`)."""
        from tiewatch.views.pair import pair_view

        return pair_view(self.store, a, b, bucket)

    def account(self, name: str) -> Any:
        """An account's followers, ties now and a year earlier, and signals (`views.account.AccountView`)."""
        from tiewatch.views.account import account_view

        return account_view(self.store, name)

    def brief(self, a: str, b: str | None = None, *, since: datetime | None = None, tz: str = "UTC") -> Any:
        """The brief as an article (`views.article.Article`: .markdown(), .html(), .as_json()): a lede, a
        chronology, every sentence footnoted to the stored records it rests on; dates and sentences in the
        time zone `tz` (an IANA name such as Asia/Seoul, or KST). The CLI, the web page and the export read it."""
        from tiewatch.views.article import build_article
        from tiewatch.views.pages import zone

        return build_article(self.store, a, b, since, tz=zone(tz))

    def followers(self, account: str, *, since: datetime | None = None, until: datetime | None = None) -> Any:
        """New and lost followers, unfollows, not following back and mutuals from stored snapshots, each change
        with the interval it happened in (`views.followers.FollowersView`)."""
        from tiewatch.views.followers import followers_view

        return followers_view(self.store, account, since, until)

    def growth(self, accounts: list[str], *, since: datetime | None = None) -> list[Any]:
        """Social Blade-style follower growth per account: per-day rates, averages, projection
        (`views.growth.Growth`)."""
        from tiewatch.views.growth import growth_views

        return growth_views(self.store, list(accounts), since)

    def growth_chart(self, growth: list[Any], path: str | Path) -> Path:
        """Draw several accounts' follower counts on one picture."""
        from tiewatch.views.charts import save_chart
        from tiewatch.views.growth import growth_chart

        return save_chart(growth_chart(growth), Path(path))

    def gaps(self, limit: int = 30) -> list[dict[str, Any]]:
        """The longest unusual pauses between two accounts in message data, ranked by length over the pair's
        median gap; NOT tested (where the renewal test has no power, this is what can honestly be shown)."""
        from tiewatch.detect.base import Context, Window
        from tiewatch.detect.dialect import DUCKDB
        from tiewatch.detect.renewal import long_gaps, renewal_histogram

        _check_limit(limit)
        ctx = Context(store=self.store, dialect=DUCKDB, window=Window(), keep_p=0.05)
        renewal_histogram(ctx)
        rows: list[dict[str, Any]] = long_gaps(ctx, limit=limit)
        return rows

    def article(self, a: str, b: str | None = None, *, since: datetime | None = None, tz: str = "UTC") -> Any:
        """The same as `brief` (its earlier name)."""
        return self.brief(a, b, since=since, tz=tz)

    def report(self, out_dir: str | Path, *, account: str | None = None, since: datetime | None = None,
               limit: int | None = 200, tz: str = "UTC", progress: ProgressCallback | None = None) -> Path:
        """Export the web pages (feed, signals, pairs, accounts, briefs) as static files into `out_dir`, for
        the `limit` most significant signals (about `account`, from `since`); returns its index.html."""
        from tiewatch.views.report import write_report

        _check_limit(limit)
        return write_report(self.store, Path(out_dir), account=account, since=since, limit=limit, tz=tz,
                            progress=progress)

    def chart(self, view: Any, path: str | Path, *, tz: str = "UTC") -> Path:
        """Draw a pair or account view to `path` (.svg, .png or .html, chosen by the suffix), times in `tz`."""
        from tiewatch.views.account import AccountView
        from tiewatch.views.charts import account_chart, pair_chart, save_chart
        from tiewatch.views.pages import zone

        chart = account_chart(view, zone(tz)) if isinstance(view, AccountView) else pair_chart(view, zone(tz))
        return save_chart(chart, Path(path))

    def watch_jetstream(self, url: str | None = None, *, collections: list[str] | None = None,
                        dids: list[str] | None = None, batch_size: int = 500, max_events: int | None = None,
                        idle_exit: float | None = None, on_batch: Any = None, on_retry: Any = None,
                        on_busy: Any = None) -> Any:
        """Follow Bluesky's Jetstream, writing in batches with the cursor; resumes after a restart
        (`tiewatch.stream.WatchStats`). The database is held only while a batch is written, so other
        processes can use it meanwhile."""
        from tiewatch.stream import DEFAULT_URL, watch_jetstream

        self.store.release()
        return watch_jetstream(self.store, url or DEFAULT_URL, collections=list(collections or []),
                               dids=list(dids or []), batch_size=batch_size, max_events=max_events,
                               idle_exit=idle_exit, on_batch=on_batch, on_retry=on_retry, on_busy=on_busy)

    # -- browsing (the web pages and the static export; `tiewatch.views.explore`) ---------------------
    def feed(self, *, kind: str | None = None, account: str | None = None, since: datetime | None = None,
             until: datetime | None = None, q: str | None = None, sort: str = "newest", limit: int = 50,
             after: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of signals (JSON shape plus `names`) and the cursor of the next page, or None."""
        from tiewatch.signals import KINDS
        from tiewatch.views.explore import feed

        if kind is not None and kind not in KINDS:
            raise InvalidInput(f"kind {kind!r}: choose one of {', '.join(KINDS)}")
        return feed(self.store, kind=kind, account=account, since=since, until=until, q=q, sort=sort,
                    limit=limit, after=after)

    def evidence(self, signal_id: str) -> dict[str, list[dict[str, Any]]]:
        """The events (with post links), news and metric rows a signal's evidence names."""
        from tiewatch.views.explore import evidence

        return evidence(self.store, self.signal(signal_id).evidence)

    def news(self, *, account: str | None = None, since: datetime | None = None, until: datetime | None = None,
             q: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        from tiewatch.views.explore import news

        return news(self.store, account=account, since=since, until=until, q=q, limit=limit)

    def growth_table(self, account: str) -> dict[str, Any]:
        """One account's Social Blade-style table (the web page's): recent counts with changes, day/week/month
        changes, average, projections with intervals (from the same model as `growth`)."""
        from tiewatch.views.explore import growth

        return growth(self.store, resolve(self.store, account))

    def follows(self, account: str, limit: int = 200) -> list[dict[str, Any]]:
        """Follows and unfollows by or of an account, with their time intervals."""
        from tiewatch.views.explore import follows

        _check_limit(limit)
        return follows(self.store, resolve(self.store, account), limit)

    def feed_state(self) -> tuple[int, int]:
        """A fingerprint of the stored signals that changes whenever they do (for live updates)."""
        from tiewatch.views.explore import feed_state

        return feed_state(self.store)

    def signal_ids(self) -> set[str]:
        from tiewatch.views.explore import signal_ids

        return signal_ids(self.store)

    def signals_by_id(self, ids: list[str]) -> list[dict[str, Any]]:
        from tiewatch.views.explore import signals_by_id

        return signals_by_id(self.store, ids)

    # -- the watch list (the Bluesky tracker's, `tiewatch track`) ---------------------------------------
    def watchlist(self) -> list[dict[str, Any]]:
        """The watch list: each entry as typed, with what the tracker resolved (DID, handle, PDS, backfill)."""
        from tiewatch.track.watchlist import listing

        return listing(self.store)

    def watch(self, entries: list[str]) -> list[str]:
        """Add Bluesky handles or DIDs to the watch list; returns those that were new. One malformed entry
        refuses them all (InvalidInput)."""
        from tiewatch.track.watchlist import add, normalise

        _watch_entries(normalise, entries)
        return add(self.store, entries)

    def unwatch(self, entries: list[str]) -> list[str]:
        """Remove entries (as typed, by DID or by handle) from the watch list; their data stays. NotFound when
        none was on it."""
        from tiewatch.track.watchlist import normalise, remove

        _watch_entries(normalise, entries)
        try:
            return remove(self.store, entries)
        except TiewatchError as e:
            raise NotFound(str(e)) from None

    def track_status(self) -> list[dict[str, Any]]:
        """What `tiewatch track status --json` shows, per watched account: last backfill and snapshots, stream
        cursor lag, signals, alerts sent and failed, limits that held work back."""
        from tiewatch.track.work import store_status

        return store_status(self.store)

    def stats(self) -> dict[str, Any]:
        """What the store holds: events by kind and platform, and the size of every other table."""
        from tiewatch.stats import store_stats

        return store_stats(self.store)

    def clear_quarantine(self, files: list[str] | None = None) -> int:
        """Delete quarantined records (of these files, else all); returns how many."""
        from tiewatch import quarantine

        return quarantine.clear(self.store, files or None)

    def retry_quarantine(self, *, maps: dict[str, str] | None = None, sets: dict[str, str] | None = None,
                         table: str | None = None, fmt: str | None = None, files: list[str] | None = None) -> Any:
        """Ingest the quarantined files again with the mapping given now; a file that then loads drops its old
        quarantine rows (`quarantine.RetryReport`)."""
        from tiewatch import quarantine
        from tiewatch.ingest.canonical import FieldMapping

        return quarantine.retry(self.store, FieldMapping(dict(maps or {}), dict(sets or {})), table=table, fmt=fmt,
                                files=files or None)

    def quarantine(self, limit: int = 1000) -> list[QuarantineRecord]:
        """Records that could not be stored, with file, line and reason."""
        from tiewatch.stats import quarantine_rows

        _check_limit(limit)
        return [QuarantineRecord(**r) for r in quarantine_rows(self.store, limit)]  # type: ignore[arg-type]


def _watch_entries(normalise: Callable[[str], str], entries: list[str]) -> None:
    if not entries:
        raise InvalidInput("no account given: a Bluesky handle (like alice.bsky.social) or DID")
    for e in entries:
        try:
            normalise(e)
        except TiewatchError as err:
            raise InvalidInput(str(err)) from None


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise InvalidInput(f"limit {limit}: must be zero or more")


def dumps(obj: Any) -> str:
    """JSON text for a result, a list of results or plain data (results serialise through `as_json`)."""
    def default(o: Any) -> Any:
        if hasattr(o, "as_json"):
            return o.as_json()
        if isinstance(o, datetime):
            return iso(o)
        return str(o)

    from tiewatch.safetext import json_text

    return json_text(json.loads(json.dumps(obj, ensure_ascii=False, default=default)))
