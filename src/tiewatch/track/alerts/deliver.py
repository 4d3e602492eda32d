"""Which signals become alerts, and their delivery, recorded in the store's alerts table.

A row per (signal, channel) is written, with its composed payload, the moment a signal is first seen: a
restart therefore never forgets one (it is still pending) and never sends one twice (a sent row stays sent).
Signals already present when tracking begins are recorded once as baseline (channel '*') and not sent,
unless asked for. A failed delivery is retried with exponential backoff and jitter until MAX_ATTEMPTS, then
left failed; channels are tried independently, so one failing never holds back the others.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tiewatch.signals import SIGNAL_KEYS, to_json
from tiewatch.store import Store
from tiewatch.track.alerts.channels import DeliveryError, send
from tiewatch.track.alerts.config import AlertConfig, Channel
from tiewatch.track.watchlist import briefly, open_waiting, utcnow

MAX_ATTEMPTS = 8
MAX_DELAY = 3600.0
LEASE_SECONDS = 2.0


@dataclass
class DeliveryReport:
    queued: int = 0
    baseline: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    errors: list[str] = field(default_factory=list)


def bsky_url(uri: str | None) -> str | None:
    """at://did/app.bsky.feed.post/rkey → its bsky.app page; a profile for a bare DID."""
    if not uri:
        return None
    if uri.startswith("did:"):
        return f"https://bsky.app/profile/{uri}"
    parts = uri.removeprefix("at://").split("#")[0].split("/")
    if len(parts) == 3 and parts[1] == "app.bsky.feed.post":
        return f"https://bsky.app/profile/{parts[0]}/post/{parts[2]}"
    return None


def _evidence(store: Store, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each evidence id with a label and the bsky.app page of the post it is about."""
    plain = sorted({i.split("#")[0] for i in ids})
    rows = store.con.execute("SELECT id, kind, post FROM events WHERE id IN (SELECT unnest(?))", [plain]).fetchall()
    known = {r[0]: (r[1], r[2]) for r in rows}
    out = {}
    for i in ids:
        kind, post = known.get(i.split("#")[0], (None, None))
        deleted = "#delete" in i or i.startswith("delete:")
        label = (f"{kind} (deleted)" if deleted and kind else kind) or ("follower list change"
                                                                        if i.startswith("snap:") else i)
        url = bsky_url(post) or bsky_url(i)
        out[i] = {"id": i, "label": label, "url": url}
    return out


def _payload(store: Store, s: dict[str, Any], config: AlertConfig) -> dict[str, Any]:
    evidence = _evidence(store, s["evidence"])
    subjects = s["subjects"]
    view: str | None
    if config.view_base:
        base = config.view_base.rstrip("/")
        view = f"{base}/pair/{subjects[0]}/{subjects[1]}" if len(subjects) >= 2 else f"{base}/account/{subjects[0]}"
    else:
        view = bsky_url(subjects[0]) if subjects else None
    return {"id": s["id"], "kind": s["kind"], "summary": s["summary"], "subjects": subjects, "ts": s["ts"],
            "start": s["start"], "end": s["end"], "score": s["score"], "p_value": s["p_value"],
            "q_value": s["q_value"], "evidence": [evidence[e] for e in s["evidence"]], "view": view}


def queue(db: Path | None, config: AlertConfig, *, baseline: bool) -> DeliveryReport:
    """Record an alert row for every (new signal, channel) a rule routes it to."""
    report = DeliveryReport()
    now = utcnow()
    with briefly(db) as store:
        cols = ", ".join(f'"{k}"' for k in SIGNAL_KEYS)
        rows = store.con.execute(f"""
            SELECT {cols} FROM signals s
            WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.signal = s.id AND a.channel = '*')
            ORDER BY coalesce(ts, start), id""").fetchall()
        signals = [to_json(dict(zip(SIGNAL_KEYS, r, strict=True))) for r in rows]
        if baseline:
            if not signals:
                return report
            with store.transaction() as con:
                con.executemany("INSERT OR IGNORE INTO alerts (signal, channel, status, attempts, first_try) "
                                "VALUES (?, '*', 'baseline', 0, ?)", [(s["id"], now) for s in signals])
            report.baseline = len(signals)
            return report
        watch = store.con.execute("SELECT entry, did, handle FROM watchlist").fetchall()
        watched = {r[1] for r in watch if r[1]}
        to_did = {k: did for entry, did, handle in watch if did for k in (entry, did, handle) if k}
        existing = {(r[0], r[1]) for r in store.con.execute(
            "SELECT signal, channel FROM alerts WHERE signal IN (SELECT unnest(?))",
            [[s["id"] for s in signals]]).fetchall()}
        inserts = []
        for s in signals:
            release: dict[str, datetime] = {}
            for rule in config.rules:
                accounts = watched if rule.accounts is None else {to_did.get(a, a) for a in rule.accounts}
                if not rule.matches(s, accounts):
                    continue
                for ch in config.channels:
                    if rule.channels is None or ch.name in rule.channels:
                        at = rule.release(now)
                        release[ch.name] = min(release.get(ch.name, at), at)
            if not release:
                continue
            payload = json.dumps(_payload(store, s, config), ensure_ascii=False, default=str)
            for name, at in release.items():
                if (s["id"], name) not in existing:
                    inserts.append((s["id"], name, "pending", 0, None, None, at, None, payload))
        if inserts:
            with store.transaction() as con:
                con.executemany("INSERT OR IGNORE INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", inserts)
    report.queued = len(inserts)
    return report


def deliver(db: Path | None, config: AlertConfig, *, retry_base: float = 30.0,
            stop: Callable[[], bool] = lambda: False) -> DeliveryReport:
    """Send every pending alert that is due, channel by channel; record each outcome as it happens."""
    report = DeliveryReport()
    channels = {c.name: c for c in config.channels}
    with briefly(db) as store:
        due = store.con.execute("""SELECT signal, channel, attempts, payload FROM alerts
                                   WHERE status = 'pending' AND next_try <= ? ORDER BY next_try, signal, channel""",
                                [utcnow()]).fetchall()
    lease: Store | None = None
    leased_at = 0.0
    try:
        for signal, name, attempts, payload in due:
            if stop():
                break
            channel: Channel | None = channels.get(name)
            if channel is None:  # a channel removed from the file since: leave its rows as they are
                continue
            alert = json.loads(payload)
            alert["id"] = f"{signal}:{name}"
            if lease is not None and time.monotonic() - leased_at > LEASE_SECONDS:
                lease.close()
                lease = None
            error = None
            try:
                send(channel, alert)
            except DeliveryError as e:
                error = str(e)
            now = utcnow()
            attempts = int(attempts or 0) + 1
            if error is None:
                status, next_try = "sent", None
                report.sent += 1
            elif attempts >= MAX_ATTEMPTS:
                status, next_try = "failed", None
                report.failed += 1
                report.errors.append(f"{name}: {error}")
            else:
                delay = min(retry_base * 2 ** (attempts - 1), MAX_DELAY) * random.uniform(0.5, 1.5)
                status, next_try = "pending", now + timedelta(seconds=delay)
                report.retrying += 1
                report.errors.append(f"{name}: {error} (retry {attempts} in {delay:.0f}s)")
            # Each outcome is recorded as soon as it is known; the store stays open for the next ones only
            # briefly (a lease of LEASE_SECONDS, plus at most one delivery's timeout).
            if lease is None:
                lease, leased_at = open_waiting(db), time.monotonic()
            lease.con.execute("""UPDATE alerts SET status = ?, attempts = ?, first_try = coalesce(first_try, ?),
                                 last_try = ?, next_try = ?, error = ? WHERE signal = ? AND channel = ?""",
                              [status, attempts, now, now, next_try, error, signal, name])
    finally:
        if lease is not None:
            lease.close()
    return report
