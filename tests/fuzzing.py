"""Mutation fuzzing of every source, shared by the test suite (bounded runs) and bench/fuzz.py (long runs).

Each source starts from real samples (tests/fixtures, the shared data and seed scenario) and mutates them the
way damaged or hostile files are damaged: flipped and inserted bytes (invalid UTF-8, NUL, ESC), cut and
repeated ranges, truncation, deep nesting, hostile text, wrong JSON shapes, broken compression, and, for
exports, one mutated entry or a damaged zip. `run_one` ingests one input and classifies the outcome:

* "ok": ingested; for line formats every record is accounted for (stored, duplicate or quarantined);
* "error": refused with a TiewatchError, and the store is exactly as before;
* "traceback": any other exception (a bug), "silent-drop" (records unaccounted for) or "partial" (a refused
  file changed the store).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import zstandard

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TIEWATCH_SHARED", REPO.parent / "shared"))
FIXTURES = REPO / "tests" / "fixtures"

HOSTILE = ['</script><script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "\x1b[31mred\x1b[0m", "\x00",
           "\u202eevil", "[/]", "[link=http://x]y[/link]", "\ufeff", "\ud7ff", "'; DROP TABLE events; --",
           "null", "{}", "[]", "-1", "1e999", "99999999999999999999999", "0001-01-01+01:00", "\\", '"']


def _sample_lines(path: Path, n: int) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rb") as f:
        for line in f:
            out.append(line)
            if len(out) >= n:
                break
    return b"".join(out)


@dataclass
class Seed:
    name: str
    suffix: str  # the file name's ending (format and compression from it)
    data: bytes
    records: Callable[[bytes], int] | None = None  # how many records a valid file of this kind holds
    maps: tuple[str, ...] = ()  # --map FIELD=COLUMN
    sets: tuple[str, ...] = ()  # --set FIELD=VALUE


def _json_records(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n") if line.strip())


def _text_records(data: bytes) -> int:
    lines = [ln for ln in data.split(b"\n") if ln.strip() and not ln.strip().startswith(b"#")]
    return max(len(lines) - 1, 0)  # minus the header


def text_seeds() -> list[Seed]:
    seed = SHARED / "scenarios" / "seed"
    return [
        Seed("jsonl", ".jsonl", _sample_lines(seed / "events.jsonl.gz", 120), _json_records),
        Seed("metrics", ".jsonl", _sample_lines(seed / "metrics.jsonl.gz", 60), _json_records),
        Seed("news", ".jsonl", (seed / "news.jsonl").read_bytes(), None),
        Seed("accounts", ".jsonl", _sample_lines(seed / "accounts.jsonl", 80), None),
        Seed("text", ".txt", _sample_lines(SHARED / "data" / "collegemsg" / "CollegeMsg.txt", 150), _text_records,
             ("actor=src", "target=dst", "ts=time"), ("kind=message",)),
        Seed("csv", ".csv", _sample_lines(SHARED / "data" / "follower-history-odu" / "fch_ten_gop.csv", 120), None,
             ("ts=date", "followers=count"), ("account=ten_gop", "platform=x")),
        Seed("jetstream", ".jsonl", _sample_lines(FIXTURES / "jetstream" / "capture.jsonl", 150), None),
        Seed("jetstream-golden", ".jsonl",
             _sample_lines(SHARED / "data" / "bluesky" / "jetstream_subscribe_golden_v1.jsonl", 150), None),
        Seed("json", ".json", json.dumps([json.loads(x) for x in _sample_lines(seed / "events.jsonl.gz", 40)
                                          .splitlines()]).encode(), None),
        Seed("snapshots", ".snapshots.jsonl", (
            b'{"ts":"2024-01-01T00:00:00Z","platform":"instagram","account":"a","direction":"followers",'
            b'"members":["b","c","d"]}\n{"ts":"2024-02-01T00:00:00Z","platform":"instagram","account":"a",'
            b'"direction":"followers","members":["b","e"]}\n'), None),
    ]


# -- mutations of bytes ----------------------------------------------------------------------------------
def _flip(rng: random.Random, d: bytes) -> bytes:
    if not d:
        return bytes([rng.randrange(256)])
    b = bytearray(d)
    for _ in range(rng.randint(1, 8)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def _insert(rng: random.Random, d: bytes) -> bytes:
    at = rng.randrange(len(d) + 1)
    piece = rng.choice([b"\xff", b"\xc3", b"\x00", b"\x1b[2J", b"\n", b"\r\n", b"\n\n\n", b",", b"\t", b'"', b"{",
                        b"[", b"}", b"]", b":", rng.choice(HOSTILE).encode("utf-8", "surrogatepass")])
    return d[:at] + piece + d[at:]


def _cut(rng: random.Random, d: bytes) -> bytes:
    if len(d) < 2:
        return d
    a = rng.randrange(len(d))
    return d[:a] + d[min(len(d), a + rng.randint(1, 200)):]


def _repeat(rng: random.Random, d: bytes) -> bytes:
    if len(d) < 2:
        return d + d
    a = rng.randrange(len(d))
    piece = d[a: a + rng.randint(1, 400)]
    return d[:a] + piece * rng.randint(2, 5) + d[a:]


def _truncate(rng: random.Random, d: bytes) -> bytes:
    return d[: rng.randrange(len(d) + 1)]


def _deep(rng: random.Random, d: bytes) -> bytes:
    depth = rng.choice([100, 1000, 20000, 100000])
    nest = b"[" * depth + b"]" * depth if rng.random() < 0.5 else b'{"a":' * depth + b"1" + b"}" * depth
    lines = d.split(b"\n")
    lines.insert(rng.randrange(len(lines) + 1), nest)
    return b"\n".join(lines)


def _long_line(rng: random.Random, d: bytes) -> bytes:
    lines = d.split(b"\n")
    lines.insert(rng.randrange(len(lines) + 1), b'{"id":"' + b"x" * rng.choice([70_000, 300_000]) + b'"}')
    return b"\n".join(lines)


def _json_value(rng: random.Random, d: bytes) -> bytes:
    """Replace one JSON value (after a colon) with a value of another shape."""
    colons = [i for i in range(len(d)) if d[i:i + 1] == b":"]
    if not colons:
        return _insert(rng, d)
    at = rng.choice(colons) + 1
    end = at
    while end < len(d) and d[end:end + 1] not in (b",", b"}", b"]", b"\n"):
        end += 1
    value = rng.choice([b"null", b"[]", b"{}", b'"x"', b"1", b"-1", b"1.5e308", b"true", b'[{"a":[1]}]',
                        b'{"x":{"y":[]}}', b'"' + rng.choice(HOSTILE).encode("utf-8", "surrogatepass")
                        .replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"',
                        b"18446744073709551616"])
    return d[:at] + value + d[end:]


def _swap_lines(rng: random.Random, d: bytes) -> bytes:
    lines = d.split(b"\n")
    rng.shuffle(lines)
    return b"\n".join(lines)


TEXT_MUTATIONS = [_flip, _insert, _cut, _repeat, _truncate, _deep, _long_line, _json_value, _json_value, _swap_lines]


def mutate_bytes(rng: random.Random, data: bytes, rounds: int | None = None) -> bytes:
    for _ in range(rounds or rng.randint(1, 3)):
        data = rng.choice(TEXT_MUTATIONS)(rng, data)
    return data


def _compress(rng: random.Random, data: bytes, suffix: str) -> tuple[bytes, str]:
    """Sometimes gzip or zstd the input (sometimes damaging the compressed stream)."""
    r = rng.random()
    if r < 0.7:
        return data, suffix
    if r < 0.85:
        packed, suffix = gzip.compress(data), suffix + ".gz"
    else:
        packed, suffix = zstandard.ZstdCompressor().compress(data), suffix + ".zst"
    if rng.random() < 0.4:
        packed = _truncate(rng, packed) if rng.random() < 0.6 else _flip(rng, packed)
    return packed, suffix


# -- inputs ---------------------------------------------------------------------------------------------
@dataclass
class Case:
    source: str
    path: Path
    records: int | None  # records a complete ingest must account for (None: not checked)
    maps: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()


def text_case(rng: random.Random, seed: Seed, out: Path) -> Case:
    data = mutate_bytes(rng, seed.data)
    packed, suffix = _compress(rng, data, seed.suffix)
    path = out / f"{seed.name}{suffix}"
    path.write_bytes(packed)
    records = seed.records(data) if seed.records and packed is data else None
    return Case(seed.name, path, records, seed.maps, seed.sets)


def _folder_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def archive_seeds() -> dict[str, tuple[str, dict[str, bytes]]]:
    """name -> (how it is packed: zip/folder, {entry: bytes})."""
    insta = FIXTURES / "instagram"
    exports = sorted(p for p in insta.iterdir() if p.is_dir())
    stuparlu = SHARED / "data" / "instagram-export-stuparlu"
    return {
        "x": ("zip", _folder_files(FIXTURES / "x_archive")),
        "instagram": ("folder", _folder_files(exports[0])),
        "instagram-zip": ("zip", _folder_files(exports[-1])),
        "instagram-real": ("folder", _folder_files(stuparlu)),
        "instaloader": ("folder", _folder_files(FIXTURES / "instaloader")),
    }


def _mutate_entry(rng: random.Random, name: str, data: bytes) -> bytes:
    if name.endswith(".xz"):
        import lzma

        if rng.random() < 0.5:
            try:
                inner = lzma.decompress(data)
            except lzma.LZMAError:
                inner = data
            return lzma.compress(mutate_bytes(rng, inner))
        return _flip(rng, data) if rng.random() < 0.5 else _truncate(rng, data)
    return mutate_bytes(rng, data)


def archive_case(rng: random.Random, name: str, packing: str, files: dict[str, bytes], out: Path) -> Case:
    files = dict(files)
    victims = [k for k in files if not k.endswith((".md", ".txt"))] or list(files)
    for _ in range(rng.randint(1, 2)):
        victim = rng.choice(victims)
        files[victim] = _mutate_entry(rng, victim, files[victim])
    if rng.random() < 0.1:
        files.pop(rng.choice(list(files)))
    prefix = "instagram-user_x-2024-03-01-AbCdEf" if name.startswith("instagram") else name
    if packing == "folder":
        root = out / prefix
        if root.exists():
            shutil.rmtree(root)
        for rel, data in files.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        return Case(name, root, None)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for rel, data in files.items():
            z.writestr(rel, data)
    packed = buf.getvalue()
    if rng.random() < 0.3:
        packed = _flip(rng, packed) if rng.random() < 0.5 else _truncate(rng, packed)
    path = out / f"{prefix}.zip"
    path.write_bytes(packed)
    return Case(name, path, None)


def car_seeds() -> list[bytes]:
    cars = [FIXTURES / "bluesky_car" / "repo.car", *sorted((SHARED / "data" / "bluesky").glob("*.car"))]
    return [p.read_bytes() for p in cars if p.stat().st_size < 3_000_000]


def car_case(rng: random.Random, seeds: list[bytes], out: Path) -> Case:
    data = rng.choice(seeds)
    mutate = rng.choice([_flip, _flip, _insert, _cut, _repeat, _truncate])
    for _ in range(rng.randint(1, 3)):
        data = mutate(rng, data)
    path = out / "repo.car"
    path.write_bytes(data)
    return Case("car", path, None)


SOURCES = ["jsonl", "metrics", "news", "accounts", "text", "csv", "jetstream", "jetstream-golden", "json",
           "snapshots", "x", "instagram", "instagram-zip", "instagram-real", "instaloader", "car"]


class Generator:
    """Mutated inputs for any source, reproducible from (source, seed)."""

    def __init__(self) -> None:
        self._text = {s.name: s for s in text_seeds()}
        self._archives = archive_seeds()
        self._cars = car_seeds()

    def case(self, source: str, seed: int, out: Path) -> Case:
        rng = random.Random(f"{source}:{seed}")
        out.mkdir(parents=True, exist_ok=True)
        for old in out.iterdir():
            shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
        if source in self._text:
            return text_case(rng, self._text[source], out)
        if source in self._archives:
            packing, files = self._archives[source]
            return archive_case(rng, source, packing, files, out)
        if source == "car":
            return car_case(rng, self._cars, out)
        raise ValueError(source)


# -- running one ----------------------------------------------------------------------------------------
def _counts(store: object) -> tuple[int, ...]:
    con = store.con  # type: ignore[attr-defined]
    return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                 for t in ("events", "metrics", "news", "accounts", "quarantine", "snapshots"))


@dataclass
class Outcome:
    kind: str  # ok, error, traceback, silent-drop, partial
    detail: str = ""


def run_one(store: object, case: Case) -> Outcome:
    """Ingest one case into `store` and classify what happened (an exception in a helper thread counts as a
    traceback: the user would see it printed)."""
    import threading

    thread_errors: list[str] = []
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: thread_errors.append(f"in a thread: {args.exc_type.__name__}: "
                                                             f"{args.exc_value}")
    try:
        outcome = _run(store, case)
    finally:
        threading.excepthook = previous_hook
    if thread_errors:
        return Outcome("traceback", thread_errors[0])
    return outcome


def _run(store: object, case: Case) -> Outcome:
    from tiewatch.errors import TiewatchError
    from tiewatch.ingest.canonical import FieldMapping
    from tiewatch.ingest.run import ingest_paths

    before = _counts(store)
    try:
        mapping = FieldMapping.parse(list(case.maps), list(case.sets))
        report = ingest_paths(store, [case.path], mapping=mapping)  # type: ignore[arg-type]
    except TiewatchError as e:
        after = _counts(store)
        if after != before:
            return Outcome("partial", f"{e}: {before} -> {after}")
        return Outcome("error", str(e))
    except Exception as e:
        import traceback

        return Outcome("traceback", f"{type(e).__name__}: {e}\n{traceback.format_exc()[-1500:]}")
    after = _counts(store)
    r = report.result
    if report.errors:
        # a refused file leaves nothing behind, unless every record was quarantined (then only quarantine rows)
        changed = [i for i, (x, y) in enumerate(zip(before, after, strict=True)) if x != y and i != 4]
        if changed:
            return Outcome("partial", f"{report.errors[0]}: {before} -> {after}")
        return Outcome("error", report.errors[0])
    if case.records is not None:
        table_rows = r.inserted.get("events", 0) + r.inserted.get("metrics", 0) + r.inserted.get("news", 0)
        # fewer is a silent drop; more happens when a lone \r inside a line splits it in two (the line reader,
        # like most CSV readers, takes \r as a line end): then both halves are accounted for
        if table_rows + r.duplicates + r.rejected < case.records:
            return Outcome("silent-drop", f"{case.records} records, {table_rows} stored, {r.duplicates} duplicates, "
                                          f"{r.rejected} rejected")
    return Outcome("ok")
