"""The input formats tiewatch reads, in the order they are sniffed, described without importing them.

The registry is the one list a new format is added to (one line, beside its one new file). It is light on
purpose: the command line builds its `--format` choices from it without importing DuckDB, and
docs/sources.md's table is generated from it (`tiewatch.sources.registry.docs_table`, checked by a test).
`tests/test_source_contract.py` runs the source check suite over every entry and every sample it claims.

Order matters. Folders and zips go to the first container source that recognises them; any other file to
the first source whose `sniff` says yes: by name (.car, *.snapshots.jsonl), then by content (Jetstream's
first record), and last the generic table source, which takes whatever is left.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tiewatch.sources.base import Source


@dataclass(frozen=True)
class SourceEntry:
    """One registered format: its name, the --format names it answers to, its class, and for the docs what it
    reads and the samples it claims (repository paths; "shared:" ones are under ../shared, absent in CI)."""

    name: str
    formats: tuple[str, ...]
    implementation: str  # "module:Class"
    title: str
    reads: str
    samples: tuple[str, ...]
    container: bool = False  # reads a folder or .zip as one input

    def load(self) -> Source:
        module, _, cls = self.implementation.partition(":")
        source: Source = getattr(importlib.import_module(module), cls)()
        return source


REGISTRY: list[SourceEntry] = [
    SourceEntry(
        "x", ("x",), "tiewatch.sources.xarchive:XArchiveSource", "X/Twitter archive (zip or folder)",
        "manifest.js (owner when account.js is missing; `generationDate` dates the archive), account.js, "
        "tweets.js/tweet.js and -partN (posts, replies, mentions; `RT @x:` tweets as reposts of x), like.js, "
        "follower.js, following.js (also as snapshots, so successive archives give unfollows)",
        ("tests/fixtures/x_archive",), container=True),
    SourceEntry(
        "instagram", ("instagram",), "tiewatch.sources.instagram:InstagramSource",
        'Instagram "Download your information", JSON (zip or folder)',
        "by known path: personal_information.json, followers_N.json / followers.json, following.json, "
        "recently_unfollowed_profiles.json (exact unfollow times), liked_posts.json (both layouts), "
        "comments/post_comments_N.json, content/ or media/posts_N.json and stories.json; followers/following "
        "as snapshots; other files (ads_information/…/posts_viewed.json, pending requests, …) are not read",
        ("tests/fixtures/instagram/instagram-hyeri_0609-2024-03-01-AbCdEf",
         "tests/fixtures/instagram/instagram-hyeri_0609-2024-04-01-GhIjKl",
         "tests/fixtures/instagram_layouts/instagram-oldie_99-2021-06-01-Zq1w2E",
         "tests/fixtures/instagram_layouts/instagram-hyeri_0609-2024-06-01-FuLl24",
         "tests/fixtures/instagram_layouts/instagram-nova_2025-2025-11-01-Nw25Ab"), container=True),
    SourceEntry(
        "instaloader", ("instaloader",), "tiewatch.sources.instaloader:InstaloaderSource",
        "Instaloader output folder",
        "`<date>_UTC.json[.xz]` posts, `<date>_UTC_comments.json` comments and answers, `<user>_<id>.json[.xz]` "
        "profile name", ("tests/fixtures/instaloader/hyeri_0609",), container=True),
    SourceEntry(
        "car", ("car",), "tiewatch.sources.car:CarSource", "Bluesky repository export (CAR)",
        "the commit's MST walked to posts, replies, likes, reposts, follows, blocks (ids as Jetstream's, so the "
        "two never double up); profile displayName; every block checked against its content id (sha2-256 CIDs "
        "only, as repositories have them; a damaged file is refused)",
        ("tests/fixtures/bluesky_car/repo.car", "shared:data/bluesky/jetstream_corpus_repo.car",
         "shared:data/bluesky/indigo_fakermaker.repo.car", "shared:data/bluesky/indigo_paul_staging.repo.car")),
    SourceEntry(
        "snapshots", ("snapshots",), "tiewatch.sources.snapshots:SnapshotsSource", "Follower-list snapshots",
        "JSON Lines (`*.snapshots.jsonl`): ts, platform, account, direction (followers/following), members",
        ("tests/fixtures/snapshots/lists.snapshots.jsonl",)),
    SourceEntry(
        "jetstream", ("jetstream",), "tiewatch.sources.jetstream:JetstreamSource", "Bluesky Jetstream capture",
        "commit create of post/like/repost/follow/block, delete of follow (→ unfollow), identity (→ handle); "
        "other app.bsky records skipped; records of other apps (collections outside app.bsky/chat.bsky), whether "
        "created, updated or deleted, set aside and counted in the ingest summary (`set_aside`)",
        ("tests/fixtures/jetstream/capture.jsonl", "shared:data/bluesky/jetstream_expected_v1.jsonl")),
    SourceEntry(
        "table", ("jsonl", "json", "csv", "tsv", "text", "parquet"), "tiewatch.sources.table:TableSource",
        "JSON Lines, JSON arrays, CSV, TSV, whitespace text, Parquet (+ .gz, .zst)",
        "any table with the canonical columns, or mapped with `--map`/`--set`",
        ("tests/fixtures/detector_checks/follows.jsonl", "tests/fixtures/tables/events.csv",
         "tests/fixtures/tables/events.json", "tests/fixtures/tables/metrics.tsv.gz",
         "tests/fixtures/tables/messages.txt", "shared:scenarios/seed/events.jsonl.gz",
         "shared:scenarios/seed/metrics.jsonl.gz", "shared:scenarios/seed/accounts.jsonl")),
]


def formats() -> tuple[str, ...]:
    """Every --format name, in registry order."""
    return tuple(f for entry in REGISTRY for f in entry.formats)


def entry_for_format(fmt: str) -> SourceEntry | None:
    return next((e for e in REGISTRY if fmt in e.formats), None)


def is_container(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() == ".zip"


def choose(path: Path, fmt: str | None = None) -> Source:
    """The source that reads `path`: the one `fmt` names, else the first in order that sniffs it as its own.

    A folder or zip is read by a container source (an export) whatever --format says of its files."""
    from tiewatch.errors import TiewatchError

    named = entry_for_format(fmt) if fmt else None
    if fmt and named is None:
        raise TiewatchError(f"unknown format {fmt!r}; choose one of {', '.join(formats())}")
    if named is not None and (named.container or not is_container(path)):
        return named.load()
    if is_container(path):
        for entry in (e for e in REGISTRY if e.container):
            source = entry.load()
            if source.sniff(path, b""):
                return source
        raise TiewatchError(f"{path}: not an X archive, Instagram export or Instaloader folder (no "
                            "data/account.js or manifest.js; no followers_N.json, following.json or "
                            "liked_posts.json; no <date>_UTC.json post files)")
    head = _peek(path)
    for entry in (e for e in REGISTRY if not e.container):
        source = entry.load()
        if source.sniff(path, head):
            return source
    raise TiewatchError(f"{path}: unknown format; name it with --format ({', '.join(formats())})")


def _peek(path: Path) -> bytes:
    """The first bytes of a file, decompressed; empty when they cannot be read (the chosen source says why)."""
    from tiewatch.errors import TiewatchError
    from tiewatch.sources.files import guess_format_by_name, read_head

    try:
        compression = guess_format_by_name(path)[1]
        if compression is None:
            with open(path, "rb") as f:
                magic = f.read(4)
            compression = "gzip" if magic[:2] == b"\x1f\x8b" else "zstd" if magic == b"\x28\xb5\x2f\xfd" else None
        return read_head(path, compression)
    except (OSError, TiewatchError):
        return b""


def docs_table() -> str:
    """docs/sources.md's table of formats, from the registry."""
    rows = ["| format | `--format` | what is read | samples (checked by tests/test_source_contract.py) |",
            "|---|---|---|---|"]
    for e in REGISTRY:
        samples = ", ".join(f"`../shared/{s.removeprefix('shared:')}`" if s.startswith("shared:") else f"`{s}`"
                            for s in e.samples)
        rows.append(f"| {e.title} | {', '.join(e.formats)} | {e.reads} | {samples} |")
    return "\n".join(rows) + "\n"


def is_platform_folder(path: Path) -> bool:
    """A folder that is one export (read as a whole) rather than a folder of table files."""
    from tiewatch.errors import TiewatchError

    if not path.is_dir():
        return False
    try:
        return any(e.load().sniff(path, b"") for e in REGISTRY if e.container)
    except TiewatchError:
        return False
