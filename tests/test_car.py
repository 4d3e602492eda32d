"""The CAR v1 container as both readers see it (ingest's `car` source and the tracker's `read_car`): one block
iterator, every block checked against its content id, a damaged file refused with the byte where it breaks."""

from __future__ import annotations

from pathlib import Path

import libipld
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SHARED
from tiewatch.errors import TiewatchError
from tiewatch.sources.base import ReadOptions
from tiewatch.sources.car import CarSource, car_blocks, car_header, decode_varint, encode_varint
from tiewatch.track.repo import read_car

REAL = SHARED / "data" / "bluesky" / "jetstream_corpus_repo.car"


def _real() -> bytes:
    if not REAL.exists():
        pytest.fail(f"{REAL} not found (set TIEWATCH_SHARED)")
    return REAL.read_bytes()


def _refused_by_both(data: bytes, tmp: Path) -> tuple[str, str]:
    path = tmp / "damaged.car"
    path.write_bytes(data)
    with pytest.raises(TiewatchError) as ingest:
        CarSource().read(path, ReadOptions())
    with pytest.raises(TiewatchError) as track:
        read_car(data, "getRepo")
    return str(ingest.value), str(track.value)


@given(st.integers(0, 2**64 - 1))
def test_varints_round_trip(n: int) -> None:
    encoded = encode_varint(n)
    assert decode_varint(encoded + b"\x00", 0) == (n, len(encoded))


def test_both_readers_see_the_blocks_libipld_sees() -> None:
    data = _real()
    header, decoded = libipld.decode_car(data)
    blocks = read_car(data, "x").blocks
    assert set(blocks) == set(decoded) and len(blocks) == 29
    assert all(libipld.decode_dag_cbor(raw) == decoded[cid] for cid, raw in blocks.items())
    assert read_car(data, "x").root == header["roots"][0]


def test_a_flipped_bit_in_any_content_id_prefix_is_refused_naming_the_block(tmp_path: Path) -> None:
    """A CID's hash-code byte flipped (sha2-256 -> anything else) once slipped through: the block went unchecked,
    nothing linked to it any more, and a profile's name or an unlinked block vanished without a word."""
    data = _real()
    sections = list(car_blocks(data, car_header(data)[1]))
    for block in sections:
        cid_at = block.offset + len(encode_varint(len(block.cid) + len(block.data)))
        for i in range(4):  # version, codec, hash code, digest length (a flipped digest byte fails its hash)
            for bit in range(8):
                damaged = bytearray(data)
                damaged[cid_at + i] ^= 1 << bit
                ingest, track = _refused_by_both(bytes(damaged), tmp_path)
                assert f"byte {block.offset:,}" in ingest and "nothing stored" in ingest, ingest
                assert track.startswith("getRepo: not a readable CAR (") and f"byte {block.offset:,}" in track


def test_a_cut_file_names_the_block_it_cuts(tmp_path: Path) -> None:
    data = _real()
    last = list(car_blocks(data, car_header(data)[1]))[-1]
    ingest, track = _refused_by_both(data[:-1], tmp_path)
    cut = f"the block at byte {last.offset:,} runs past the end"
    assert f"{tmp_path / 'damaged.car'}: damaged CAR file ({cut}" in ingest
    assert f"getRepo: not a readable CAR ({cut}" in track


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_any_flipped_bit_in_the_blocks_is_refused(tmp_path_factory: pytest.TempPathFactory,
                                                  data: st.DataObject) -> None:
    real = _real()
    start = car_header(real)[1]
    pos = data.draw(st.integers(start, len(real) - 1))
    damaged = bytearray(real)
    damaged[pos] ^= 1 << data.draw(st.integers(0, 7))
    _refused_by_both(bytes(damaged), tmp_path_factory.mktemp("flip"))
