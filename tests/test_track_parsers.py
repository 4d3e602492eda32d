"""Property tests of what the tracker parses from users and servers: watch-list entries, alert files,
durations and rate-limit headers. Bad input is refused with a reason (TiewatchError), never a crash."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from tiewatch.cli.track import _duration
from tiewatch.errors import TiewatchError
from tiewatch.track.alerts.config import parse
from tiewatch.track.client import server_pause
from tiewatch.track.watchlist import normalise

toml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)


@given(st.text(max_size=80))
def test_entries_are_normalised_or_refused(text: str) -> None:
    try:
        value = normalise(text)
    except TiewatchError as e:
        assert repr(text) in str(e) or "not a" in str(e)
        return
    assert normalise(value) == value  # idempotent
    assert value.startswith("did:") or value == value.lower()


@given(st.from_regex(r"[a-z][a-z0-9]{0,10}(\.[a-z][a-z0-9]{0,10}){1,3}", fullmatch=True))
def test_handles_survive_an_at_sign_and_case(handle: str) -> None:
    assert normalise("@" + handle.upper()) == handle


@given(st.dictionaries(st.sampled_from(["channel", "rule", "alerts", "endpoints", "other"]), toml_values,
                       max_size=4))
@settings(max_examples=300, deadline=None)
def test_alert_files_parse_or_are_refused_with_a_reason(config: dict[str, Any]) -> None:
    try:
        parse(config, "alerts.toml")
    except TiewatchError as e:
        assert str(e).startswith("alerts.toml")


@given(st.text(max_size=12))
def test_durations_parse_or_are_refused(text: str) -> None:
    try:
        assert _duration(text) > 0
    except TiewatchError as e:
        assert "duration" in str(e)


@given(st.dictionaries(st.sampled_from(["retry-after", "ratelimit-reset", "ratelimit-remaining"]),
                       st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
                       | st.floats().map(str) | st.integers().map(str)),
       st.sampled_from([200, 429, 503]))
def test_rate_limit_headers_never_crash_and_never_go_negative(headers: dict[str, str], status: int) -> None:
    pause = server_pause(httpx.Response(status, headers=headers))
    assert pause is None or 0 <= pause < float("inf")


def test_rate_limit_header_forms() -> None:
    assert server_pause(httpx.Response(429, headers={"Retry-After": "7"})) == 7
    assert server_pause(httpx.Response(429, headers={"Retry-After": "-3"})) is None
    assert server_pause(httpx.Response(429, headers={"RateLimit-Reset": "12"})) == 12  # a delta (IETF draft)
    later = server_pause(httpx.Response(200, headers={"RateLimit-Remaining": "0",
                                                      "RateLimit-Reset": str(int(time.time()) + 60)}))
    assert later is not None and 55 < later <= 60  # an epoch second (Bluesky)
    assert server_pause(httpx.Response(200, headers={"RateLimit-Remaining": "5", "RateLimit-Reset": "60"})) is None


# -- repository CARs and since-diffs from a PDS (tiewatch.track.repo) ------------------------------------------
dag_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(max_size=12) | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["e", "l", "p", "k", "v", "t", "x"]),
                                                                inner, max_size=5),
    max_leaves=16)


def _car(root: bytes, blocks: list[bytes]) -> bytes:
    import hashlib

    import libipld

    from tiewatch.sources.car import encode_varint

    def cid(b: bytes) -> bytes:
        return b"\x01\x71\x12\x20" + hashlib.sha256(b).digest()

    header = libipld.encode_dag_cbor({"roots": [cid(root)], "version": 1})
    out = bytearray(encode_varint(len(header)) + header)
    for b in [root, *blocks]:
        out += encode_varint(36 + len(b)) + cid(b) + b
    return bytes(out)


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_arbitrary_bytes_from_a_pds_are_refused_with_a_reason(data: bytes) -> None:
    from tiewatch.track.repo import Incomplete, read_car, read_tree

    with contextlib.suppress(TiewatchError, Incomplete):
        read_tree(read_car(data, "x"), "x")


@given(dag_values, st.lists(dag_values, max_size=3))
@settings(max_examples=300)
def test_any_well_formed_blocks_are_a_tree_or_refused_with_a_reason(node: Any, others: list[Any]) -> None:
    """Blocks that match their CIDs but hold anything at all (a PDS's word is not trusted beyond the hashes)."""
    import hashlib

    import libipld

    from tiewatch.track.repo import Incomplete, read_car, read_tree

    blocks = [libipld.encode_dag_cbor(v) for v in [node, *others]]
    first = b"\x01\x71\x12\x20" + hashlib.sha256(blocks[0]).digest()
    commit = libipld.encode_dag_cbor({"did": "did:plc:x", "rev": "3k", "data": first, "version": 3})
    try:
        tree = read_tree(read_car(_car(commit, blocks), "x"), "x", kept={})
    except (TiewatchError, Incomplete):
        return
    assert all(isinstance(k, str) and isinstance(v, bytes) for k, v in tree.entries.items())
