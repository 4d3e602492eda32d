"""Every table's columns and types, declared once (DESIGN.md's data model plus tiewatch's own tables).

The store's DDL, the canonical field lists that sources and the loader fill, and the loader's typing derive
from these declarations; nothing else lists a table's columns. This module imports nothing from tiewatch, so
every layer may use it.

Times are naive TIMESTAMP in UTC: portable to Spark and unambiguous once the convention is fixed. An event
whose exact time is unknown keeps the interval it is known to lie in (ts_lo, ts_hi); ts is then the best
single estimate (or NULL when nothing is known, e.g. X archive likes).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type
    nullable: bool = True
    canonical: bool = True  # a field that inputs provide (False: written by tiewatch itself)
    primary_key: bool = False

    def ddl(self) -> str:
        name = f'"{self.name}"' if self.name in RESERVED else self.name
        return f"{name} {self.type}" + ("" if self.nullable else " NOT NULL") + (
            " PRIMARY KEY" if self.primary_key else "")


RESERVED = {"end"}


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # a composite primary key

    def ddl(self) -> str:
        parts = [c.ddl() for c in self.columns] + ([f"PRIMARY KEY ({', '.join(self.key)})"] if self.key else [])
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({', '.join(parts)})"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def fields(self) -> tuple[str, ...]:
        """The canonical fields, in stored column order."""
        return tuple(c.name for c in self.columns if c.canonical)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, type_: str = "VARCHAR", *, null: bool = True, canonical: bool = True, pk: bool = False) -> Column:
    return Column(name, type_, null, canonical, pk)


SOURCE = _c("source", canonical=False)  # the file (or stream) a row came from
INGEST = _c("ingest", "BIGINT", canonical=False)  # the ingest that wrote it (ingests.id)

EVENT_KINDS = (
    "post", "story", "like", "comment", "reply", "mention", "repost", "message", "follow", "unfollow", "block",
)

TABLES: dict[str, Table] = {t.name: t for t in (
    Table("meta", (_c("key", pk=True, canonical=False), _c("value", canonical=False))),
    Table("accounts", (_c("platform", null=False), _c("account", null=False), _c("name"), _c("person"), _c("kind"),
                       SOURCE)),
    Table("events", (_c("id", null=False), _c("ts", "TIMESTAMP"), _c("ts_lo", "TIMESTAMP"), _c("ts_hi", "TIMESTAMP"),
                     _c("platform", null=False), _c("actor", null=False), _c("kind", null=False), _c("target"),
                     _c("post"), _c("text"), SOURCE, INGEST)),
    Table("metrics", (_c("ts", "TIMESTAMP", null=False), _c("platform", null=False), _c("account", null=False),
                      _c("followers", "BIGINT"), _c("following", "BIGINT"), _c("posts", "BIGINT"), SOURCE, INGEST)),
    Table("news", (_c("id", null=False), _c("ts", "TIMESTAMP", null=False), _c("title", null=False),
                   _c("subjects", "VARCHAR[]"), _c("kind"), _c("status"), _c("url"), SOURCE, INGEST)),
    Table("signals", (_c("id", null=False), _c("kind", null=False), _c("ts", "TIMESTAMP"), _c("start", "TIMESTAMP"),
                      _c("end", "TIMESTAMP"), _c("subjects", "VARCHAR[]"), _c("score", "DOUBLE"),
                      _c("p_value", "DOUBLE"), _c("q_value", "DOUBLE"), _c("evidence", "VARCHAR[]"), _c("summary"),
                      _c("detail"), _c("platform"))),
    Table("quarantine", (_c("file", null=False), _c("line", "BIGINT"), _c("reason", null=False), _c("raw"),
                         _c("ingested_at", "TIMESTAMP"))),
    Table("ingests", (_c("file", null=False), _c("size", "BIGINT"), _c("sha256"), _c("format"), _c("table_name"),
                      _c("inserted", "BIGINT"), _c("duplicates", "BIGINT"), _c("rejected", "BIGINT"),
                      _c("started", "TIMESTAMP"), _c("finished", "TIMESTAMP"), _c("id", "BIGINT"))),
    Table("cursors", (_c("source", pk=True), _c("cursor"), _c("updated", "TIMESTAMP"))),
    Table("snapshots", (_c("platform", null=False), _c("account", null=False), _c("direction", null=False),
                        _c("member", null=False), _c("taken", "TIMESTAMP", null=False), _c("source"))),
    # The watch-list tracker's tables (schema 4):
    # watchlist: one row per watched entry (a handle or DID as typed) and what was resolved for it; profiles:
    # periodic profile snapshots (input of profile_change); record_deletes: deletions of likes and posts (input
    # of unlike and post_deleted; ts_lo when only an interval is known); alerts: one row per (signal, channel)
    # delivery; track_log: what the tracker held back or could not do (rate limits, caps, unreachable hosts).
    Table("watchlist", (_c("entry", pk=True), _c("did"), _c("handle"), _c("pds"), _c("added", "TIMESTAMP"),
                        _c("resolved", "TIMESTAMP"), _c("rev"), _c("backfilled", "TIMESTAMP"),
                        _c("profiled", "TIMESTAMP"), _c("followers_listed", "TIMESTAMP"),
                        _c("followers_capped", "BOOLEAN"), _c("error"), _c("repo_bytes", "BIGINT"),
                        _c("last_fetch"))),
    Table("profiles", (_c("ts", "TIMESTAMP", null=False), _c("did", null=False), _c("handle"), _c("display_name"),
                       _c("description"), _c("avatar"), _c("status"), _c("source"))),
    Table("record_deletes", (_c("id", null=False), _c("ts", "TIMESTAMP", null=False), _c("ts_lo", "TIMESTAMP"),
                             _c("did", null=False), _c("collection", null=False), _c("rkey", null=False),
                             _c("source"))),
    Table("alerts", (_c("signal", null=False), _c("channel", null=False), _c("status", null=False),
                     _c("attempts", "INTEGER"), _c("first_try", "TIMESTAMP"), _c("last_try", "TIMESTAMP"),
                     _c("next_try", "TIMESTAMP"), _c("error"), _c("payload")), key=("signal", "channel")),
    Table("track_log", (_c("ts", "TIMESTAMP", null=False), _c("account"), _c("what", null=False), _c("message"))),
    # repo_nodes (schema 5): the Merkle Search Tree nodes of each watched repository as last backfilled, so a
    # `getRepo?since=REV` diff (which omits unchanged subtrees) can be read as the whole new tree.
    Table("repo_nodes", (_c("did", null=False), _c("cid", "BLOB", null=False), _c("node", "BLOB", null=False),
                         _c("root", "BOOLEAN"))),
)}
TRACK_TABLES = ("watchlist", "profiles", "record_deletes", "alerts", "track_log")  # schema 4; repo_nodes: 5

# The tables that inputs feed, with their canonical fields in stored column order.
CANONICAL_TABLES = ("events", "metrics", "news", "accounts")
FIELDS: dict[str, tuple[str, ...]] = {t: TABLES[t].fields for t in CANONICAL_TABLES}
EVENT_FIELDS = FIELDS["events"]
