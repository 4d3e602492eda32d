"""Bluesky repository exports (CAR files, as from com.atproto.sync.getRepo) of one account.

The CAR is decoded with libipld (the IPLD library the atproto Python SDK uses); the commit block names the
account (did) and the root of its Merkle Search Tree, whose entries map "collection/rkey" keys
(prefix-compressed: each key shares `p` bytes with the one before it in its node) to DAG-CBOR records.
Posts, replies, likes, reposts, follows and blocks become events with the same ids as Jetstream's
(at://did/collection/rkey), so a repo export and a live capture of the same account never double up;
ts = the record's createdAt. Other collections (profile, lists, ...) are not tracked; the profile's
displayName names the account.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tiewatch.errors import TiewatchError
from tiewatch.sources.base import Part, Reading, ReadOptions
from tiewatch.sources.files import InputFile
from tiewatch.sources.jetstream import COLLECTIONS
from tiewatch.sources.rows import rows_part

PLATFORM = "bluesky"
MAX_CAR_BYTES = 1 << 30  # decoded into Python objects: bounded like any export parsed in Python
EVENT_COLUMNS = ["id", "ts", "platform", "actor", "kind", "target", "post", "text"]
ACCOUNT_COLUMNS = ["platform", "account", "name"]


def _walk(blocks: dict[bytes, Any], node_cid: bytes | None, out: list[tuple[str, bytes]], label: str,
          depth: int = 0) -> None:
    """(key, record CID) for every entry under an MST node, in key order."""
    if node_cid is None:
        return
    if depth > 64:
        raise TiewatchError(f"{label}: Merkle Search Tree deeper than 64 levels; refused")
    node = _block(blocks, node_cid)
    if not isinstance(node, dict) or not isinstance(node.get("e"), list):
        raise TiewatchError(f"{label}: a tree node is missing or not an MST node ({{l, e}})")
    _walk(blocks, node.get("l"), out, label, depth + 1)
    prev = b""
    for entry in node["e"]:
        try:
            key = prev[: entry["p"]] + entry["k"]
            if not isinstance(key, bytes):
                raise TypeError("key")
        except (KeyError, TypeError, AttributeError):
            raise TiewatchError(f"{label}: an MST entry lacks p/k/v") from None
        out.append((key.decode("utf-8", errors="replace"), entry.get("v")))
        prev = key
        _walk(blocks, entry.get("t"), out, label, depth + 1)


def _block(blocks: dict[bytes, Any], cid: Any) -> Any:
    """The block a link names; None for a missing block or a link of the wrong type (unhashable, ...)."""
    try:
        return blocks.get(cid)
    except TypeError:
        return None


def _quoted(record: dict[str, Any]) -> str | None:
    """The post a post quotes: embed app.bsky.embed.record {record: {uri}}, or app.bsky.embed.recordWithMedia
    {record: {record: {uri}}} (as Jetstream's EVENTS_SQL reads it)."""
    embed = record.get("embed")
    ref = embed.get("record") if isinstance(embed, dict) else None
    uri = ref.get("uri") if isinstance(ref, dict) else None
    if uri is None and isinstance(ref, dict) and isinstance(ref.get("record"), dict):
        uri = ref["record"].get("uri")
    return uri if isinstance(uri, str) and uri.startswith("at://") and "/app.bsky.feed.post/" in uri else None


def car_parts(path: Path) -> list[Part]:
    import libipld

    label = str(path)
    if path.stat().st_size > MAX_CAR_BYTES:
        raise TiewatchError(f"{label}: larger than {MAX_CAR_BYTES:,} bytes; refused")
    try:
        header, blocks = libipld.decode_car(path.read_bytes())
        commit = blocks[header["roots"][0]]
        did, data_root = commit["did"], commit["data"]
    except (KeyError, IndexError, TypeError):
        raise TiewatchError(f"{label}: not a repository export (no commit block with did and data)") from None
    except Exception as e:  # libipld raises its own decode errors for truncated or non-CAR input
        raise TiewatchError(f"{label}: not a readable CAR file ({e})") from None
    entries: list[tuple[str, bytes]] = []
    _walk(blocks, data_root, entries, label)
    rows: list[dict[str, Any]] = []
    name = None
    for i, (key, cid) in enumerate(entries, 1):
        collection, _, rkey = key.partition("/")
        record = _block(blocks, cid)
        if collection == "app.bsky.actor.profile" and isinstance(record, dict):
            name = record.get("displayName") or name
        if collection not in COLLECTIONS:
            continue
        if not isinstance(record, dict):
            rows.append({"_rec": i, "_raw": key, "_fault": f"record {key} missing from the CAR"})
            continue
        subject = record.get("subject")
        reply_ref = record.get("reply")
        parent = reply_ref.get("parent") if isinstance(reply_ref, dict) else None
        reply = parent.get("uri") if isinstance(parent, dict) else None
        reply = reply if isinstance(reply, str) else None
        uri = f"at://{did}/{collection}/{rkey}"
        kind = "reply" if collection == "app.bsky.feed.post" and reply else COLLECTIONS[collection]
        target = None
        post = None
        if isinstance(subject, dict):
            post = subject.get("uri")
            target = post.split("/")[2] if isinstance(post, str) and post.count("/") >= 3 else None
        elif isinstance(subject, str):
            target = subject
        if collection == "app.bsky.feed.post":
            post = reply or uri
            quoted = _quoted(record) if not reply else None  # a quote post names the quoted post's author
            target = reply.split("/")[2] if reply else (quoted.split("/")[2] if quoted else None)
        rows.append({"_rec": i, "id": uri, "ts": record.get("createdAt"), "platform": PLATFORM, "actor": did,
                     "kind": kind, "target": target, "post": post, "text": record.get("text")})
    parts = [rows_part("events", rows, EVENT_COLUMNS, label)]
    parts.append(rows_part("accounts", [{"platform": PLATFORM, "account": did, "name": name}], ACCOUNT_COLUMNS, label))
    return parts


class CarSource:
    """Bluesky repository exports (.car): the rows travel with the parts (Arrow tables), no store."""

    name = "car"
    formats = ("car",)
    container = False

    def sniff(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() == ".car"

    def read(self, path: Path, options: ReadOptions) -> Reading:
        if path.stat().st_size <= MAX_CAR_BYTES:  # (car_parts refuses larger files)
            problem = damaged_block(path.read_bytes())
            if problem:
                raise TiewatchError(f"{path}: damaged CAR file ({problem}); nothing stored")
        return Reading(InputFile(path, self.name, None), car_parts(path))


# -- the CAR v1 container: a varint-framed header, then varint-framed sections of (CID, block bytes) ---------
SHA2_256 = 0x12
DAG_CBOR, RAW = 0x71, 0x55  # atproto's codecs: records and tree nodes, blobs


class DamagedCar(Exception):
    """Why a CAR's bytes are not sound: the reason names the byte offset (callers add the file)."""


def decode_varint(data: bytes, at: int) -> tuple[int, int]:
    """The unsigned LEB128 varint at `at`, and where the bytes after it start."""
    value = shift = 0
    start = at
    while at < len(data) and shift < 64:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7
    raise DamagedCar(f"a length runs past the end at byte {at:,}" if at >= len(data)
                     else f"a length at byte {start:,} is longer than 64 bits")


def encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


@dataclass(frozen=True)
class Block:
    offset: int  # where its section starts in the file
    cid: bytes
    data: bytes


def car_header(data: bytes) -> tuple[bytes, int]:
    """The header's bytes (DAG-CBOR {roots, version}; not decoded here) and where the sections start."""
    size, at = decode_varint(data, 0)
    if at + size > len(data):
        raise DamagedCar("the header runs past the end")
    return data[at: at + size], at + size


def _digest(data: bytes, at: int, offset: int) -> tuple[int, bytes]:
    """Where a section's CID ends and the sha-256 digest it names. Repositories use CIDv1 with dag-cbor or
    raw and sha2-256, nothing else (CIDv0, a bare sha-256 multihash, is read too): any other hash would leave a
    block unchecked, and a flipped hash-code byte would hide a damaged block from this check."""
    if data[at: at + 2] == b"\x12\x20":  # CIDv0
        return at + 34, data[at + 2: at + 34]
    version, p = decode_varint(data, at)
    codec, p = decode_varint(data, p)
    code, p = decode_varint(data, p)
    length, p = decode_varint(data, p)
    if (version, code, length) != (1, SHA2_256, 32) or codec not in (DAG_CBOR, RAW):
        raise DamagedCar(f"the block at byte {offset:,} has a content id other than a repository's "
                         "(CIDv1, dag-cbor or raw, sha2-256)")
    return p + length, data[p: p + length]


def car_blocks(data: bytes, start: int) -> Iterator[Block]:
    """Every section from `start` (after the header), each block checked against its CID: content addressing
    makes every flipped byte in a block visible. Raises DamagedCar at the first section that is not sound."""
    import hashlib

    at = start
    while at < len(data):
        offset = at
        size, at = decode_varint(data, at)
        end = at + size
        if end > len(data):
            raise DamagedCar(f"the block at byte {offset:,} runs past the end (a truncated file)")
        cid_end, digest = _digest(data, at, offset)
        if cid_end > end:
            raise DamagedCar(f"the block at byte {offset:,} is shorter than its content id")
        block = data[cid_end: end]
        if hashlib.sha256(block).digest() != digest:
            raise DamagedCar(f"the block at byte {offset:,} does not match its content id")
        yield Block(offset, data[at: cid_end], block)
        at = end


def damaged_block(data: bytes) -> str | None:
    """Why a CAR v1 file is damaged (a section cut short, a block whose bytes do not hash to its CID), else
    None: without this check a damaged record would be stored as if the repository had said it."""
    try:
        for _ in car_blocks(data, car_header(data)[1]):
            pass
    except DamagedCar as e:
        return str(e)
    return None
