"""A planted watch-list story for the tracker tests, served by the loopback double.

A likes nearly every post B publishes (a daily poster) for 80 days, in A's repository; B's first 80 posts are in
B's repository. Then, live on Jetstream: B posts 40 more times and A likes none of them (a silence), and later
A likes B's newest post again (the resumption), deletes its follow of C (an unfollow) and one old like of B's
post (an unlike); D stops following B (a follower-list unfollow) and A's bio drops its mention of B.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bsky_double import BskyDouble, build_car

A = "did:plc:ajk4c2tvhlrsbhw2ybyvtr6m"
B = "did:plc:b3wq5nbiznswx3hhjvm3q6ko"
C = "did:plc:c7fsdmyv2y7cc2l4xnrtbvve"
D = "did:plc:d2qkdb6hm2qgbtsn5zakfj3r"
HANDLES = {A: "anna.test", B: "ben.test", C: "cleo.test", D: "dina.test"}
HISTORY, SILENT = 80, 40


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _us(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


class Story:
    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC).replace(microsecond=0)
        self.day0 = self.now - timedelta(days=HISTORY + SILENT + 2)

    def post_time(self, i: int) -> datetime:
        return self.day0 + timedelta(days=i, hours=9)

    def post_uri(self, i: int) -> str:
        return f"at://{B}/app.bsky.feed.post/3kbp{i:04d}"

    def install(self, d: BskyDouble) -> None:
        b_posts = {f"app.bsky.feed.post/3kbp{i:04d}": {"$type": "app.bsky.feed.post", "text": f"day {i}",
                                                      "createdAt": _iso(self.post_time(i))} for i in range(HISTORY)}
        b_posts["app.bsky.actor.profile/self"] = {"$type": "app.bsky.actor.profile", "displayName": "Ben"}
        a_recs: dict[str, dict[str, Any]] = {
            f"app.bsky.feed.like/3kal{i:04d}": {"$type": "app.bsky.feed.like",
                                               "createdAt": _iso(self.post_time(i) + timedelta(hours=2)),
                                               "subject": {"uri": self.post_uri(i), "cid": "bafy"}}
            for i in range(HISTORY)}
        a_recs["app.bsky.graph.follow/3kafc"] = {"$type": "app.bsky.graph.follow", "subject": C,
                                                 "createdAt": _iso(self.day0)}
        a_recs["app.bsky.actor.profile/self"] = {"$type": "app.bsky.actor.profile", "displayName": "Anna"}
        c_recs = {"app.bsky.feed.post/3kcp0001": {"$type": "app.bsky.feed.post", "text": "hello",
                                                  "createdAt": _iso(self.day0)}}
        for did, recs in ((A, a_recs), (B, b_posts), (C, c_recs)):
            d.add_repo(build_car(did, recs, "3kaaaaaaaaa22"), handle=HANDLES[did])
        d.accounts[A].description = f"fan of @{HANDLES[B]}"
        d.accounts[A].display_name = "Anna"
        d.accounts[B].followers = [A, D, C]
        d.accounts[B].posts = HISTORY

    # -- live lines ----------------------------------------------------------------------------------------
    @staticmethod
    def _line(did: str, t: datetime, op: str, collection: str, rkey: str, record: dict[str, Any] | None) -> str:
        commit: dict[str, Any] = {"rev": "3l" + rkey[-8:], "operation": op, "collection": collection, "rkey": rkey}
        if record is not None:
            commit |= {"record": record, "cid": "bafyrei" + rkey}
        return json.dumps({"did": did, "time_us": _us(t), "kind": "commit", "commit": commit})

    def silence_lines(self) -> list[str]:
        """B keeps posting and A likes none of it, while A stays active: A likes each of C's daily posts."""
        lines = []
        for i in range(HISTORY, HISTORY + SILENT):
            t = self.post_time(i)
            lines.append(self._line(B, t, "create", "app.bsky.feed.post", f"3kbp{i:04d}",
                                    {"$type": "app.bsky.feed.post", "text": f"day {i}", "createdAt": _iso(t)}))
            tc = t + timedelta(hours=1)
            lines.append(self._line(C, tc, "create", "app.bsky.feed.post", f"3kcp{i:04d}",
                                    {"$type": "app.bsky.feed.post", "text": f"c {i}", "createdAt": _iso(tc)}))
            lines.append(self._line(A, tc + timedelta(hours=2), "create", "app.bsky.feed.like", f"3kacl{i:04d}",
                                    {"$type": "app.bsky.feed.like", "createdAt": _iso(tc + timedelta(hours=2)),
                                     "subject": {"uri": f"at://{C}/app.bsky.feed.post/3kcp{i:04d}", "cid": "x"}}))
        return lines

    def resumption_lines(self) -> list[str]:
        """A likes B's newest post, drops its follow of C and one old like of B's post."""
        last = HISTORY + SILENT - 1
        t = self.post_time(last) + timedelta(hours=20)
        return [
            self._line(A, t, "create", "app.bsky.feed.like", "3kalnew1",
                       {"$type": "app.bsky.feed.like", "createdAt": _iso(t),
                        "subject": {"uri": self.post_uri(last), "cid": "bafy"}}),
            self._line(A, t + timedelta(minutes=5), "delete", "app.bsky.graph.follow", "3kafc", None),
            self._line(A, t + timedelta(minutes=6), "delete", "app.bsky.feed.like", "3kal0003", None),
        ]

    @staticmethod
    def live_profile_changes(d: BskyDouble) -> None:
        d.accounts[B].followers = [A, C]  # D unfollowed B
        d.accounts[A].description = "just me"  # the bio drops its mention of B

    def filler_lines(self, n: int) -> list[str]:
        """n likes by C of B's posts, in time order over the history (bulk for the live stream to chew on).
        Jetstream is only slightly out of order, so the bulk is too: time_us steps back by at most 20 ms."""
        lines = []
        for j in range(n):
            i = j * HISTORY // n
            t = self.post_time(i) + timedelta(hours=3, milliseconds=10 * j - 15 * (j % 3))
            lines.append(self._line(C, t, "create", "app.bsky.feed.like", f"3kcf{j:06d}",
                                    {"$type": "app.bsky.feed.like", "createdAt": _iso(t),
                                     "subject": {"uri": self.post_uri(i), "cid": "x"}}))
        return lines
