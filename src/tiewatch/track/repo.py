"""Repository CARs as the tracker reads them: whole exports, and `getRepo?since=REV` diffs.

A diff holds the new commit and only the blocks written after REV (the reference PDS and indigo's stores
select `rev > since`): the tree nodes and records that changed. Unchanged subtrees are links to blocks the
diff leaves out. Like indigo (which lays the diff over the blocks it keeps), the tracker keeps the tree
nodes of each repository as last read (repo_nodes) and reads the new tree through both: the result is the
whole new tree, key by key, exactly as a full download would give it. Whatever the diff cannot answer (a
node neither sent nor kept, a new record whose block is absent) says so, and the caller downloads in full.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import libipld

from tiewatch.errors import TiewatchError
from tiewatch.sources.car import DamagedCar, car_blocks, car_header, encode_varint

MAX_DEPTH = 64


class Incomplete(Exception):
    """The diff plus the kept tree do not make the whole new tree (the caller downloads in full)."""


@dataclass
class Car:
    root: bytes  # the commit's CID
    blocks: dict[bytes, bytes]  # CID -> raw block bytes (checked against the CID's sha-256)

    def decoded(self, cid: bytes) -> Any:
        data = self.blocks.get(cid)
        try:
            return None if data is None else libipld.decode_dag_cbor(data)
        except Exception as e:  # libipld's own decode errors
            raise TiewatchError(f"a block is not DAG-CBOR ({e})") from None


def read_car(data: bytes, label: str) -> Car:
    """The blocks of a CAR v1, each checked against its CID (a diff is trusted no more than a whole export)."""
    try:
        head, start = car_header(data)
        try:
            header = libipld.decode_dag_cbor(head)
        except Exception as e:  # libipld's own decode errors
            raise DamagedCar(f"the header is not DAG-CBOR ({e})") from None
        blocks = {b.cid: b.data for b in car_blocks(data, start)}
    except DamagedCar as e:
        raise TiewatchError(f"{label}: not a readable CAR ({e})") from None
    roots = header.get("roots") if isinstance(header, dict) else None
    root = roots[0] if isinstance(roots, list) and roots else None
    if not isinstance(root, bytes) or root not in blocks:
        raise TiewatchError(f"{label}: the CAR lacks its root (commit) block")
    return Car(root, blocks)


@dataclass
class Tree:
    """A repository's tree as read: its entries (key -> record CID) and the raw nodes it is made of."""

    did: str
    rev: str | None
    root: bytes  # the MST root node's CID
    entries: dict[str, bytes]
    nodes: dict[bytes, bytes] = field(default_factory=dict)


def _walk(node_cid: bytes, fetch: Callable[[bytes], bytes | None], entries: dict[str, bytes],
          nodes: dict[bytes, bytes], label: str, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise TiewatchError(f"{label}: Merkle Search Tree deeper than {MAX_DEPTH} levels; refused")
    if not isinstance(node_cid, bytes):
        raise TiewatchError(f"{label}: a tree link is not a CID")
    raw = fetch(node_cid)
    if raw is None:
        raise Incomplete(node_cid.hex())
    nodes[node_cid] = raw
    try:
        node = libipld.decode_dag_cbor(raw)
    except Exception as e:  # libipld's own decode errors
        raise TiewatchError(f"{label}: a tree node is not DAG-CBOR ({e})") from None
    if not isinstance(node, dict) or not isinstance(node.get("e"), list):
        raise TiewatchError(f"{label}: a tree node is not an MST node ({{l, e}})")
    if node.get("l") is not None:
        _walk(node["l"], fetch, entries, nodes, label, depth + 1)
    prev = b""
    for entry in node["e"]:
        try:
            key = prev[: entry["p"]] + entry["k"]
            value = entry["v"]
            if not isinstance(key, bytes) or not isinstance(value, bytes):
                raise TypeError("key")
        except (KeyError, TypeError):
            raise TiewatchError(f"{label}: an MST entry lacks p/k/v") from None
        entries[key.decode("utf-8", errors="replace")] = value
        prev = key
        if entry.get("t") is not None:
            _walk(entry["t"], fetch, entries, nodes, label, depth + 1)


def read_tree(car: Car, label: str, kept: Mapping[bytes, bytes] | None = None) -> Tree:
    """The whole tree the CAR's commit names, nodes taken from the CAR first, then from `kept`.
    Raises Incomplete when a node is in neither."""
    commit = car.decoded(car.root)
    if not isinstance(commit, dict) or not isinstance(commit.get("did"), str) or not isinstance(
            commit.get("data"), bytes):
        raise TiewatchError(f"{label}: not a repository export (no commit block with did and data)")
    kept = kept or {}

    def fetch(cid: bytes) -> bytes | None:
        return car.blocks.get(cid) or kept.get(cid)

    entries: dict[str, bytes] = {}
    nodes: dict[bytes, bytes] = {}
    _walk(commit["data"], fetch, entries, nodes, label)
    rev = commit.get("rev")
    return Tree(commit["did"], rev if isinstance(rev, str) else None, commit["data"], entries, nodes)


def kept_tree(did: str, root: bytes, nodes: Mapping[bytes, bytes], label: str) -> Tree:
    """The tree as stored after the last backfill (Incomplete when a node is missing)."""
    entries: dict[str, bytes] = {}
    seen: dict[bytes, bytes] = {}
    _walk(root, nodes.get, entries, seen, label)
    return Tree(did, None, root, entries, seen)


def changed_keys(old: Tree, new: Tree, car: Car) -> list[str]:
    """Keys whose record is new or different in `new`; each one's block must be in the diff (else Incomplete:
    a PDS may leave out a block it wrote before REV, e.g. a record deleted and created again identically)."""
    keys = [k for k, cid in new.entries.items() if old.entries.get(k) != cid]
    missing = [k for k in keys if new.entries[k] not in car.blocks]
    if missing:
        raise Incomplete(f"{len(missing)} new record(s) without their block, e.g. {missing[0]}")
    return keys


def partial_car(tree: Tree, keys: list[str], car: Car) -> bytes:
    """A CAR the repository reader takes like a whole export, holding only `keys`: the diff's commit (did, rev)
    and a one-node tree over those records. Reading it yields exactly the rows the whole export would add."""
    commit = car.decoded(car.root)
    blocks: list[tuple[bytes, bytes]] = []
    entries = []
    prev = b""
    for key in sorted(keys):
        kb = key.encode()
        shared = 0
        while shared < min(len(prev), len(kb)) and prev[shared] == kb[shared]:
            shared += 1
        cid = tree.entries[key]
        blocks.append((cid, car.blocks[cid]))
        entries.append({"p": shared, "k": kb[shared:], "v": cid, "t": None})
        prev = kb
    node = libipld.encode_dag_cbor({"l": None, "e": entries})
    node_cid = b"\x01\x71\x12\x20" + hashlib.sha256(node).digest()
    new_commit = libipld.encode_dag_cbor({**commit, "data": node_cid})
    commit_cid = b"\x01\x71\x12\x20" + hashlib.sha256(new_commit).digest()
    header = libipld.encode_dag_cbor({"roots": [commit_cid], "version": 1})
    out = bytearray(encode_varint(len(header)) + header)
    for cid, data in [(commit_cid, new_commit), (node_cid, node), *blocks]:
        out += encode_varint(len(cid) + len(data)) + cid + data
    return bytes(out)
