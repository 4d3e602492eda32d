"""A loopback double of the four Bluesky services the tracker talks to, serving real bytes where they exist.

* PLC directory: GET /{did} → the real DID documents of ../shared/data/bluesky/did_docs.json (their PDS
  endpoint pointed at this double's PDS) plus documents for the repositories served; did:web accounts get
  their document at /.well-known/did.json of the PDS double (did:web:127.0.0.1%3APORT).
* PDS: com.atproto.sync.getLatestCommit and getRepo, serving the real repository CARs (and generated ones,
  built as real Merkle Search Trees); getRepo?since=REV answers with a diff as the reference PDS does
  (or refuses it, or ignores it: `since`).
* AppView: com.atproto.identity.resolveHandle, app.bsky.actor.getProfiles (25 actors at most, as the real
  one) and app.bsky.graph.getFollowers (paged, 100 at most per page, with cursors).
* Jetstream: a WebSocket server replaying events in list order (the real capture's non-monotonic order),
  honouring cursor (time_us >= cursor), wantedDids and wantedCollections, then streaming events pushed live.

Faults are injected per service: `fail(service, "429"|"500"|"slow"|"drop", times, seconds)`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import cbor2
import libipld
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from tiewatch.sources.car import encode_varint

BLUESKY = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bluesky"
REAL_CARS = ["jetstream_corpus_repo.car", "indigo_fakermaker.repo.car", "indigo_paul_staging.repo.car",
             "indigo_greenground.repo.car"]


# -- generated repositories (CAR v1 with a commit block and a one-node MST, as make_fixture.py builds) -----
def _cid(data: bytes) -> bytes:
    return b"\x01\x71\x12\x20" + hashlib.sha256(data).digest()


def _link(cid: bytes) -> cbor2.CBORTag:
    return cbor2.CBORTag(42, b"\x00" + cid)


def _mst_layer(key: bytes) -> int:
    """A key's MST layer: leading zero bits of sha-256(key), counted in pairs (fanout 4), as atproto's MST."""
    n = 0
    for byte in hashlib.sha256(key).digest():
        if byte == 0:
            n += 4
            continue
        n += (byte < 64) + (byte < 16) + (byte < 4)
        break
    return n


def mst(entries: dict[str, bytes], put: Callable[[object], bytes]) -> bytes:
    """A real Merkle Search Tree over key -> record CID (nodes encoded by `put`, which returns their CID)."""
    items = sorted((k.encode(), v) for k, v in entries.items())
    layers = {k: _mst_layer(k) for k, _ in items}

    def node(part: list[tuple[bytes, bytes]], layer: int) -> bytes | None:
        if not part:
            return None
        here = [i for i, (k, _) in enumerate(part) if layers[k] == layer]
        left = node(part[: here[0]] if here else part, layer - 1)
        out, prev = [], b""
        for j, i in enumerate(here):
            key, value = part[i]
            shared = 0
            while shared < min(len(prev), len(key)) and prev[shared] == key[shared]:
                shared += 1
            nxt = here[j + 1] if j + 1 < len(here) else len(part)
            sub = node(part[i + 1: nxt], layer - 1)
            out.append({"p": shared, "k": key[shared:], "v": _link(value), "t": None if sub is None else _link(sub)})
            prev = key
        return put({"l": None if left is None else _link(left), "e": out})

    root = node(items, max(layers.values(), default=0))
    return root if root is not None else put({"l": None, "e": []})


def encode_car(root: bytes, blocks: list[tuple[bytes, bytes]]) -> bytes:
    header = cbor2.dumps({"roots": [_link(root)], "version": 1}, canonical=True)
    out = bytearray(encode_varint(len(header)) + header)
    for cid, data in blocks:
        out += encode_varint(len(cid) + len(data)) + cid + data
    return bytes(out)


def repo_car(did: str, records: dict[str, bytes], rev: str) -> tuple[bytes, dict[bytes, bytes]]:
    """A whole repository export (commit, real MST, records) from key -> raw DAG-CBOR record; also its blocks."""
    blocks: dict[bytes, bytes] = {}

    def put_raw(data: bytes) -> bytes:
        cid = _cid(data)
        blocks[cid] = data
        return cid

    def put(obj: object) -> bytes:
        return put_raw(cbor2.dumps(obj, canonical=True))

    values = {k: put_raw(v) for k, v in records.items()}
    root = mst(values, put)
    commit = put({"did": did, "version": 3, "data": _link(root), "rev": rev, "prev": None, "sig": b"\x00" * 64})
    ordered = [(commit, blocks[commit])] + [(c, d) for c, d in blocks.items() if c != commit]
    return encode_car(commit, ordered), blocks


def build_car(did: str, records: dict[str, dict[str, Any]], rev: str) -> bytes:
    return repo_car(did, {k: cbor2.dumps(v, canonical=True) for k, v in records.items()}, rev)[0]


def car_records(data: bytes) -> dict[str, bytes]:
    """key -> raw record bytes of a whole export, read with libipld (independently of tiewatch's readers)."""
    header, blocks = libipld.decode_car(data)
    out: dict[str, bytes] = {}

    def walk(cid: bytes | None) -> None:
        if cid is None:
            return
        n = blocks[cid]
        walk(n.get("l"))
        prev = b""
        for e in n["e"]:
            key = prev[: e["p"]] + e["k"]
            raw = libipld.encode_dag_cbor(blocks[e["v"]])
            assert _cid(raw) == e["v"]  # re-encoding is exact, so a rebuilt tree names the same records
            out[key.decode()] = raw
            prev = key
            walk(e.get("t"))

    walk(blocks[header["roots"][0]]["data"])
    return out


def tree_blocks(data: bytes) -> dict[bytes, bytes]:
    """CID -> raw bytes of the blocks a CAR's commit reaches (commit, tree nodes, records): what a PDS keeps."""
    header, decoded = libipld.decode_car(data)
    raw = car_blocks(data)
    root = header["roots"][0]
    out = {root: raw[root]}

    def walk(cid: bytes | None) -> None:
        if cid is None or cid not in raw:  # a slice of a repository lacks blocks: serve what there is
            return
        out[cid] = raw[cid]
        n = decoded[cid]
        walk(n.get("l"))
        for e in n["e"]:
            if e["v"] in raw:
                out[e["v"]] = raw[e["v"]]
            walk(e.get("t"))

    walk(decoded[root]["data"])
    return out


def car_blocks(data: bytes) -> dict[bytes, bytes]:
    """CID -> raw bytes of every block of a CAR."""
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    size = varint()
    pos += size
    out: dict[bytes, bytes] = {}
    while pos < len(data):
        length = varint()
        out[data[pos: pos + 36]] = data[pos + 36: pos + length]  # CIDv1 dag-cbor/raw sha-256: 36 bytes
        pos += length
    return out


def car_did_rev(data: bytes) -> tuple[str, str]:
    header, blocks = libipld.decode_car(data)
    commit = blocks[header["roots"][0]]
    return commit["did"], commit.get("rev") or hashlib.sha1(data).hexdigest()[:13]


@dataclass
class Fault:
    kind: str  # 429 | 500 | slow | drop
    times: int
    seconds: float = 1.0


@dataclass
class Account:
    did: str
    handle: str
    display_name: str | None = None
    description: str = ""
    followers: list[str] = field(default_factory=list)
    follows: int = 0
    posts: int = 0
    available: bool = True


class BskyDouble:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = json.loads((BLUESKY / "did_docs.json").read_text())
        self.repos: dict[str, bytes] = {}
        self.history: dict[str, list[tuple[str, bytes, dict[bytes, bytes]]]] = {}  # did -> [(rev, commit, blocks)]
        self.since: str = "diff"  # how getRepo answers `since`: "diff" | "refuse" (HTTP 400) | "ignore" (whole repo)
        self.accounts: dict[str, Account] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (service, path?query, headers)
        self.lock = threading.Lock()
        self.servers: dict[str, ThreadingHTTPServer] = {}
        self.jetstream = JetstreamDouble(self)
        for doc in self.docs.values():  # handles of the real documents answer resolveHandle and profiles
            handle = next((a[5:] for a in doc.get("alsoKnownAs", []) if a.startswith("at://")), None)
            if handle:
                self.accounts[doc["id"]] = Account(doc["id"], handle)

    # -- set-up ---------------------------------------------------------------------------------------
    def add_repo(self, data: bytes, handle: str | None = None) -> str:
        """Serve `data` as the account's repository from now on (its previous revisions answer `since`)."""
        did, rev = car_did_rev(data)
        header, _ = libipld.decode_car(data)
        with self.lock:
            self.repos[did] = data
            self.history.setdefault(did, []).append((rev, header["roots"][0], tree_blocks(data)))
            acc = self.accounts.get(did) or Account(did, handle or f"{did.split(':')[-1][:12]}.test")
            self.accounts[did] = acc
            if did not in self.docs:
                self.docs[did] = {"id": did, "alsoKnownAs": [f"at://{acc.handle}"],
                                  "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                                               "serviceEndpoint": "https://pds.invalid"}]}
        return did

    def revise(self, did: str, rev: str, drop: list[str] | None = None,
               put: dict[str, dict[str, Any]] | None = None) -> bytes:
        """The account's next revision: its current records less `drop`, plus `put` (new or changed), in a real
        MST (the real repositories' trees are rebuilt bit for bit by the same code)."""
        records = car_records(self.repos[did])
        for key in drop or []:
            del records[key]
        records.update({k: cbor2.dumps(v, canonical=True) for k, v in (put or {}).items()})
        data = repo_car(did, records, rev)[0]
        self.add_repo(data)
        return data

    def diff(self, did: str, since: str) -> bytes:
        """getRepo?since=REV as the reference PDS answers it: the latest commit and every block of the current tree
        stamped with a revision after REV. The PDS stamps a block with the revision that wrote it and deletes the
        blocks a commit removes, so a block that left the tree and came back carries its return's revision
        (revisions are TIDs, compared as strings)."""
        revisions = self.history[did]
        _, root, blocks = revisions[-1]

        def stamp(cid: bytes) -> str:
            for i in range(len(revisions) - 1, -1, -1):
                if cid not in revisions[i][2]:
                    return revisions[i + 1][0]
            return revisions[0][0]

        fresh = [(c, d) for c, d in blocks.items() if stamp(c) > since]
        fresh.sort(key=lambda cd: cd[0] != root)  # the commit first
        return encode_car(root, fresh)

    def add_real_repos(self) -> list[str]:
        return [self.add_repo((BLUESKY / name).read_bytes()) for name in REAL_CARS]

    def fail(self, service: str, kind: str, times: int = 1, seconds: float = 1.0) -> None:
        with self.lock:
            self.faults.setdefault(service, []).append(Fault(kind, times, seconds))

    def _take_fault(self, service: str) -> Fault | None:
        with self.lock:
            for f in self.faults.get(service, []):
                if f.times > 0:
                    f.times -= 1
                    return f
        return None

    def url(self, service: str) -> str:
        host, port = self.servers[service].server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def web_did(self) -> str:
        return "did:web:127.0.0.1%3A" + str(self.servers["pds"].server_address[1])

    def env(self) -> dict[str, str]:
        return {"TIEWATCH_BSKY_APPVIEW": self.url("appview"), "TIEWATCH_BSKY_PLC": self.url("plc"),
                "TIEWATCH_JETSTREAM": self.jetstream.url}

    # -- answers --------------------------------------------------------------------------------------
    def doc(self, did: str) -> dict[str, Any] | None:
        doc = self.docs.get(did)
        if doc is None:
            return None
        doc = json.loads(json.dumps(doc))
        for s in doc.get("service", []):
            if s.get("id") == "#atproto_pds":
                s["serviceEndpoint"] = self.url("pds")
        return doc

    def answer(self, service: str, path: str, q: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        if service == "plc":
            doc = self.doc(path.lstrip("/"))
            return (200, doc, {}) if doc else (404, {"message": "DID not registered"}, {})
        if service == "pds":
            if path == "/.well-known/did.json":
                doc = self.doc(self.web_did)
                return (200, doc, {}) if doc else (404, {}, {})
            did = q.get("did", [""])[0]
            data = self.repos.get(did)
            if data is None:
                return 400, {"error": "RepoNotFound", "message": f"Could not find repo for DID: {did}"}, {}
            if path == "/xrpc/com.atproto.sync.getLatestCommit":
                return 200, {"cid": "bafy", "rev": car_did_rev(data)[1]}, {}
            if path == "/xrpc/com.atproto.sync.getRepo":
                since = q.get("since", [None])[0]
                if since is not None and self.since == "refuse":
                    return 400, {"error": "InvalidRequest", "message": "since is not supported"}, {}
                if since is not None and self.since == "diff":
                    data = self.diff(did, since)
                return 200, data, {"Content-Type": "application/vnd.ipld.car"}
        if service == "appview":
            if path == "/xrpc/com.atproto.identity.resolveHandle":
                handle = q.get("handle", [""])[0]
                did = next((a.did for a in self.accounts.values() if a.handle == handle), None)
                return (200, {"did": did}, {}) if did else (400, {"message": "Unable to resolve handle"}, {})
            if path == "/xrpc/app.bsky.actor.getProfiles":
                actors = q.get("actors", [])
                if len(actors) > 25:
                    return 400, {"message": "actors must not have more than 25 elements"}, {}
                out = []
                for a in actors:
                    acc = self.accounts.get(a) or next((x for x in self.accounts.values() if x.handle == a), None)
                    if acc and acc.available:
                        out.append({"did": acc.did, "handle": acc.handle, "displayName": acc.display_name,
                                    "description": acc.description, "followersCount": len(acc.followers),
                                    "followsCount": acc.follows, "postsCount": acc.posts, "labels": []})
                return 200, {"profiles": out}, {}
            if path == "/xrpc/app.bsky.graph.getFollowers":
                acc = self.accounts.get(q.get("actor", [""])[0])
                if acc is None:
                    return 400, {"message": "Profile not found"}, {}
                limit = min(int(q.get("limit", ["50"])[0]), 100)
                start = int(q.get("cursor", ["0"])[0])
                page = acc.followers[start: start + limit]
                body: dict[str, Any] = {"subject": {"did": acc.did},
                                        "followers": [{"did": d, "handle": f"{d[8:20]}.test"} for d in page]}
                if start + limit < len(acc.followers):
                    body["cursor"] = str(start + limit)
                return 200, body, {}
        return 404, {"error": "MethodNotImplemented"}, {}

    # -- lifecycle ------------------------------------------------------------------------------------
    def __enter__(self) -> BskyDouble:
        double = self
        for service in ("plc", "pds", "appview"):
            class Handler(BaseHTTPRequestHandler):
                svc = service

                def log_message(self, *args: Any) -> None:
                    pass

                def do_GET(self) -> None:
                    parts = urlsplit(self.path)
                    with double.lock:
                        double.requests.append((self.svc, self.path, dict(self.headers)))
                    fault = double._take_fault(self.svc)
                    if fault and fault.kind == "drop":
                        self.connection.close()
                        return
                    if fault and fault.kind == "slow":
                        time.sleep(fault.seconds)
                    if fault and fault.kind in ("429", "500"):
                        status, body, headers = int(fault.kind), {"error": "injected"}, {}
                        if fault.kind == "429":
                            headers = {"Retry-After": str(fault.seconds), "RateLimit-Limit": "3000",
                                       "RateLimit-Remaining": "0"}
                    else:
                        status, body, headers = double.answer(self.svc, parts.path, parse_qs(parts.query))
                    data = body if isinstance(body, bytes) else json.dumps(body).encode()
                    self.send_response(status)
                    headers = {"Content-Type": "application/json", **headers}
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            server.daemon_threads = True
            self.servers[service] = server
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.jetstream.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
        self.jetstream.stop()


class JetstreamDouble:
    """Replays `events` in list order from `cursor`, filtered as asked, then streams events pushed later."""

    def __init__(self, double: BskyDouble, per_second: int = 5000) -> None:
        self.events: list[tuple[int, str, str, str]] = []  # (time_us, did, collection, line)
        self.cond = threading.Condition()
        self.per_second = per_second
        self.connections: list[dict[str, list[str]]] = []
        self.drop_after: list[int] = []  # close the next connections after this many messages
        self.server: Server | None = None

    def push(self, *lines: str) -> None:
        with self.cond:
            for line in lines:
                obj = json.loads(line)
                self.events.append((int(obj["time_us"]), obj["did"], (obj.get("commit") or {}).get("collection", ""),
                                    line))
            self.cond.notify_all()

    def push_real_capture(self) -> None:
        self.push(*[ln for ln in (BLUESKY / "jetstream_expected_v1.jsonl").read_text().splitlines() if ln.strip()])

    def _batch(self, q: dict[str, list[str]], start: int) -> tuple[list[str], int]:
        cursor = int(q["cursor"][0]) if "cursor" in q else None
        dids, cols = set(q.get("wantedDids", [])), set(q.get("wantedCollections", []))
        with self.cond:
            todo, end = self.events[start:], len(self.events)
        return [line for t, did, col, line in todo
                if (cursor is None or t >= cursor) and (not dids or did in dids)
                and (not cols or not col or col in cols)], end

    def handler(self, ws: ServerConnection) -> None:
        q = parse_qs(urlsplit(ws.request.path if ws.request else "").query)
        self.connections.append(q)
        drop = self.drop_after.pop(0) if self.drop_after else None
        sent, pos = 0, 0
        chunk = max(self.per_second // 20, 1)
        try:
            while True:
                lines, pos = self._batch(q, pos)
                for line in lines:
                    ws.send(line)
                    sent += 1
                    if drop is not None and sent >= drop:
                        ws.close()
                        return
                    if sent % chunk == 0:
                        time.sleep(0.05)
                with self.cond:
                    if pos >= len(self.events):
                        self.cond.wait(timeout=0.2)
                with contextlib.suppress(TimeoutError):
                    ws.recv(timeout=0.001)
        except ConnectionClosed:
            return

    def start(self) -> None:
        self.server = serve(self.handler, "127.0.0.1", 0)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/subscribe"
