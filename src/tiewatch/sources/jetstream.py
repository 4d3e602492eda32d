"""Bluesky Jetstream events (captured JSON Lines, or live over WebSocket) as canonical rows.

Jetstream (github.com/bluesky-social/jetstream) sends one JSON object per event:
`{"did", "time_us", "kind": "commit" | "identity" | "account", "commit": {"operation", "collection", "rkey",
"record", "cid"}, "identity": {"did", "handle", ...}}`. Mapped here:

* commit create of app.bsky.feed.post → post (a reply → reply to the parent's author, post = parent URI; a
  post quoting another post, embed app.bsky.embed.record or recordWithMedia → target = the quoted author),
  app.bsky.feed.like → like (target = the DID in the subject URI, post = that URI), app.bsky.feed.repost
  → repost, app.bsky.graph.follow → follow, app.bsky.graph.block → block (target = record.subject);
* commit delete of app.bsky.graph.follow → unfollow (its target is filled from the follow it deletes, in
  the store or the same file); other deletes and updates are not tracked and are skipped;
* identity → accounts row (account = DID, name = handle), so handles name accounts everywhere;
* other Bluesky collections (profiles, lists, threadgates, ...) are skipped: they are ordinary records that
  say nothing about ties;
* records of other apps on the network (collections outside app.bsky.* and chat.bsky.*, such as
  fm.teal.alpha.actor.status) are set aside whatever the operation (create, update or delete), and the
  ingest summary says how many, so a capture of the wrong stream is noticed.

Event ids are the record's AT URI (`at://did/collection/rkey`; deletes add `#delete`), so replays and
overlapping captures insert nothing twice. ts = time_us (when the relay saw it).
"""

from __future__ import annotations

import json
import mmap
import re
import threading
from pathlib import Path

import duckdb

from tiewatch.sources.base import Part, Reading, ReadOptions
from tiewatch.sources.files import InputFile, guess_format_by_name, open_binary, recognise
from tiewatch.sources.generic import MAX_LINE, RawSource, json_lines_sql, numbered_lines, sql_str

PLATFORM = "bluesky"
COLLECTIONS = {"app.bsky.feed.post": "post", "app.bsky.feed.like": "like", "app.bsky.feed.repost": "repost",
               "app.bsky.graph.follow": "follow", "app.bsky.graph.block": "block"}
COMMIT = ("STRUCT(operation VARCHAR, collection VARCHAR, rkey VARCHAR, record STRUCT(text VARCHAR, subject JSON, "
          "reply STRUCT(parent STRUCT(uri VARCHAR)), embed JSON))")
TOP = {"did": "VARCHAR", "time_us": "VARCHAR", "kind": "VARCHAR", "commit": COMMIT,
       "identity": "STRUCT(handle VARCHAR)"}
EVENT_COLUMNS = ["id", "ts", "platform", "actor", "kind", "target", "post", "text"]
ACCOUNT_COLUMNS = ["platform", "account", "name"]
STAGED = "tw_jetstream"


def looks_like_jetstream(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    try:
        obj = json.loads(first)
    except ValueError:
        return False
    return isinstance(obj, dict) and "did" in obj and "time_us" in obj and obj.get("kind") in (
        "commit", "identity", "account")


def _fast_reader(inp: InputFile) -> str:
    """DuckDB's parallel JSON reader. It numbers no records: when anything is wrong with the file the loader
    re-reads it with the tolerant reader, which knows exact lines."""
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in TOP.items()) + "}"
    comp = f", compression={sql_str(inp.compression)}" if inp.compression else ""
    return (f"SELECT NULL::BIGINT AS _rec, NULL::VARCHAR AS _raw, NULL::VARCHAR AS _fault, * FROM "
            f"read_json({sql_str(str(inp.path))}, format='newline_delimited', columns={spec}, "
            f"maximum_object_size={MAX_LINE}{comp})")


TOP_FIELDS = '_j.did, _j.time_us, _j.kind, _j."commit", _j.identity'


def _tolerant_reader(inp: InputFile) -> str:
    return json_lines_sql(numbered_lines(inp), TOP, TOP_FIELDS)


def _extract(reader: str) -> str:
    """One pass over the file: the fields every part needs, as plain columns."""
    return f"""
        SELECT _rec, _raw, _fault, did, time_us, kind AS event_kind,
               "commit".operation AS operation, "commit".collection AS collection, "commit".rkey AS rkey,
               "commit".record.text AS text,
               CASE WHEN json_type("commit".record.subject) = 'OBJECT'
                    THEN "commit".record.subject->>'uri' END AS subject_uri,
               CASE WHEN json_type("commit".record.subject) = 'VARCHAR'
                    THEN "commit".record.subject->>'$' END AS subject_text,
               "commit".record.reply.parent.uri AS parent, identity.handle AS handle,
               coalesce("commit".record.embed->>'$.record.uri',  -- a quote: app.bsky.embed.record, or
                        "commit".record.embed->>'$.record.record.uri') AS quoted  -- recordWithMedia
        FROM ({reader})"""


def _did_of(uri: str) -> str:
    return f"split_part({uri}, '/', 3)"


EVENTS_SQL = f"""
    SELECT _rec, _raw,
           CASE WHEN _fault IS NOT NULL THEN _fault
                WHEN did IS NULL THEN 'missing did'
                WHEN collection IS NULL THEN 'commit without a collection'
                WHEN rkey IS NULL OR rkey = '' THEN 'commit without an rkey'
           END AS _fault,
           'at://' || did || '/' || collection || '/' || rkey
             || CASE WHEN operation = 'delete' THEN '#delete' ELSE '' END AS id,
           time_us AS ts, '{PLATFORM}' AS platform, did AS actor,
           CASE WHEN operation = 'delete' THEN 'unfollow'
                WHEN collection = 'app.bsky.feed.post' AND parent IS NOT NULL THEN 'reply'
                ELSE CASE collection {" ".join(f"WHEN '{c}' THEN '{k}'" for c, k in COLLECTIONS.items())} END
           END AS kind,
           CASE WHEN collection IN ('app.bsky.feed.like', 'app.bsky.feed.repost') THEN {_did_of('subject_uri')}
                WHEN collection IN ('app.bsky.graph.follow', 'app.bsky.graph.block') THEN subject_text
                WHEN parent IS NOT NULL THEN {_did_of('parent')}
                WHEN collection = 'app.bsky.feed.post' AND quoted LIKE 'at://%/app.bsky.feed.post/%'
                     THEN {_did_of('quoted')} END AS target,
           CASE WHEN collection IN ('app.bsky.feed.like', 'app.bsky.feed.repost') THEN subject_uri
                WHEN collection = 'app.bsky.feed.post' THEN coalesce(parent,
                    'at://' || did || '/' || collection || '/' || rkey) END AS post,
           text
    FROM {{rel}}
    WHERE _fault IS NOT NULL OR (event_kind = 'commit'
          AND (collection IS NULL OR collection IN ({", ".join(f"'{c}'" for c in COLLECTIONS)}))
          AND (operation = 'create' OR (operation = 'delete' AND collection = 'app.bsky.graph.follow')))"""

# The events already typed: the loader's generic typing (trimming, time parsing, hashing ids) has nothing to
# do for records whose every field Jetstream defines, so this is the stage itself.
TYPED_EVENTS_SQL = """
    SELECT _rec, _raw,
           CASE WHEN _fault IS NOT NULL THEN _fault
                WHEN actor IS NULL THEN 'missing did'
                WHEN ts IS NULL THEN 'unparseable time_us ' || coalesce(to_json(raw_ts)::VARCHAR, 'null')
                WHEN kind IS NULL THEN 'missing kind'
           END AS _reason,
           NULL::VARCHAR AS _rawjson, id, ts, NULL::TIMESTAMP AS ts_lo, NULL::TIMESTAMP AS ts_hi, platform, actor,
           kind, target, post, text
    FROM (SELECT _rec, _raw, _fault, id, ts AS raw_ts, TRY(make_timestamp(TRY_CAST(ts AS BIGINT))) AS ts, platform,
                 actor, kind, target, post, text FROM ({events}))"""

ACCOUNTS_SQL = f"""
    SELECT _rec, _raw, NULL::VARCHAR AS _fault, '{PLATFORM}' AS platform, did AS account, handle AS name
    FROM {{rel}} WHERE _fault IS NULL AND event_kind = 'identity' AND handle IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY did ORDER BY _rec DESC) = 1"""

# A deleted follow names only its own record; the followed account comes from the follow it deletes.
UNFOLLOW_TARGETS = f"""
    UPDATE events u SET target = f.target FROM events f
    WHERE u.platform = '{PLATFORM}' AND u.kind = 'unfollow' AND u.target IS NULL AND f.platform = '{PLATFORM}'
      AND f.id = replace(u.id, '#delete', '')"""


def lines_reader(table: str) -> str:
    """The tolerant reader over a registered table of raw lines (_rec, _raw): the live stream's batches."""
    return json_lines_sql(table, TOP, TOP_FIELDS)


def stage_lines(con: duckdb.DuckDBPyConnection, table: str, label: str) -> list[Part]:
    """Parts for a batch of raw lines already in a registered table."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGED} AS {_extract(lines_reader(table))}")
    return [Part("events", RawSource(EVENTS_SQL.format(rel=STAGED), EVENT_COLUMNS, exact_lines=True), label),
            Part("accounts", RawSource(ACCOUNTS_SQL.format(rel=STAGED), ACCOUNT_COLUMNS, exact_lines=True), label)]


def _has_identities(inp: InputFile) -> bool:
    """A byte scan: captures filtered by collection often hold no identity events; then the file is read once."""
    pattern = re.compile(rb'"kind"\s*:\s*"identity"')
    if inp.compression is None:
        with open(inp.path, "rb") as raw, mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            at = mm.find(b'"identity"')  # a literal search over the mapped file: no copies, memory speed
            while at != -1:
                if pattern.search(mm[max(at - 40, 0): at + 12]):
                    return True
                at = mm.find(b'"identity"', at + 1)
        return False
    tail = b""
    with open_binary(inp.path, inp.compression) as f:
        while block := f.read(16 << 20):
            window = tail + block
            # A literal search runs at memory speed; the pattern only confirms the rare hits.
            if b'"identity"' in window and pattern.search(window):
                return True
            tail = block[-64:]
    return False


# Over the staged columns (live batches): a commit of another app's collection.
OTHER_APP_SQL = ("event_kind = 'commit' AND collection IS NOT NULL AND NOT (starts_with(collection, 'app.bsky.') "
                 "OR starts_with(collection, 'chat.bsky.'))")
OTHER_APP = re.compile(rb'"collection"\s*:\s*"(?!app\.bsky\.|chat\.bsky\.)')


def count_other_apps(inp: InputFile) -> int:
    """Commits of other apps' collections in a capture: a byte scan (regular expression in C, no per-record
    Python), run beside the staging. Text inside a record cannot match (its quotes are escaped); a record field
    itself named "collection" would (no app.bsky lexicon has one)."""
    if inp.compression is None:
        with open(inp.path, "rb") as raw:
            if raw.seek(0, 2) == 0:
                return 0
            with mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return len(OTHER_APP.findall(mm))
    count, tail = 0, b""
    with open_binary(inp.path, inp.compression) as f:
        while block := f.read(16 << 20):
            cut = block.rfind(b"\n") + 1 or len(block)  # count whole lines only; carry the rest over
            count += len(OTHER_APP.findall(tail + block[:cut]))
            tail = block[cut:]
    return count + len(OTHER_APP.findall(tail))


def jetstream_parts(inp: InputFile) -> tuple[list[Part], list[str]]:
    """Parts for a capture: events typed straight from the file in one parallel pass, accounts from identity
    events when the file has any. A file with any bad record is re-read by the tolerant reader (exact lines)."""
    label = str(inp.path)

    def part(table: str, sql: str, columns: list[str], typed: bool = False) -> Part:
        fast = sql.format(rel=f"({_extract(_fast_reader(inp))})")
        tolerant = sql.format(rel=f"({_extract(_tolerant_reader(inp))})")
        if typed:
            fast, tolerant = TYPED_EVENTS_SQL.format(events=fast), TYPED_EVENTS_SQL.format(events=tolerant)
        return Part(table, RawSource(fast, columns, exact_lines=False, fast_path=True, typed=typed,
                                     fallback=RawSource(tolerant, columns, exact_lines=True, typed=typed,
                                                        line_rejects=typed)), label)

    # The scan for identity events runs beside the (much longer) staging of the events part.
    found: list[bool] = []
    def scan_file() -> None:
        try:
            found.append(_has_identities(inp))
        except Exception:  # damaged input: the staging reader reports it, with the file's name
            found.append(True)

    scan = threading.Thread(target=scan_file, daemon=True)
    scan.start()

    def identities_present() -> bool:
        scan.join()
        return bool(found and found[0])

    accounts = part("accounts", ACCOUNTS_SQL, ACCOUNT_COLUMNS)
    accounts.needed = identities_present
    return [part("events", EVENTS_SQL, EVENT_COLUMNS, typed=True), accounts], [UNFOLLOW_TARGETS]


class JetstreamSource:
    """Captured Jetstream JSON Lines (plain, .gz or .zst); other apps' records are set aside and counted."""

    name = "jetstream"
    formats = ("jetstream",)
    container = False

    def sniff(self, path: Path, head: bytes) -> bool:
        return guess_format_by_name(path)[0] in (None, "jsonl", "json") and looks_like_jetstream(head)

    def read(self, path: Path, options: ReadOptions) -> Reading:
        found = recognise(path, None)
        inp = InputFile(found.path, self.name, found.compression)
        parts, after = jetstream_parts(inp)

        def set_aside() -> int:
            try:
                return count_other_apps(inp)
            except Exception:  # damaged input: the staging reader reports it, with the file's name
                return 0

        return Reading(inp, parts, after_load=after, set_aside=set_aside)
