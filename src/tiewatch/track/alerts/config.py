"""The alert file: channels (where alerts go) and rules (which signals go where, and when).

    [alerts]
    view_base = "http://127.0.0.1:8000"   # optional: where `tiewatch serve` answers, for pair/account links

    [[channel]]
    name = "desk"            # optional, default: the type
    type = "webhook"         # webhook | ntfy | discord | slack | email | log
    url = "https://example.com/hook"

    [[channel]]
    type = "email"
    host = "smtp.example.com"
    port = 587
    starttls = true          # default true
    from = "tiewatch@example.com"
    to = ["desk@example.com"]
    # credentials come from the environment: TIEWATCH_SMTP_USER and TIEWATCH_SMTP_PASSWORD by default,
    # or the variables named by user_env / password_env

    [[rule]]
    kinds = ["unfollow", "unlike", "silence"]   # default: every kind
    accounts = ["alice.bsky.social"]             # default: any watched account
    min_score = 1.0                              # default: none
    max_q = 0.05                                 # tested signals only; default: none
    channels = ["desk"]                          # default: every channel
    quiet_hours = "22:00-07:00"                  # alerts wait until the end; default: none
    timezone = "Europe/London"                   # for quiet_hours; default UTC

Without any rule, every new signal about a watched account goes to every channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tiewatch.errors import TiewatchError
from tiewatch.track.config import load_toml

CHANNEL_TYPES = ("webhook", "ntfy", "discord", "slack", "email", "log")
REQUIRED = {"webhook": ("url",), "ntfy": ("url",), "discord": ("url",), "slack": ("url",),
            "email": ("host", "from", "to"), "log": ("path",)}
HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Channel:
    name: str
    type: str
    options: dict[str, Any]


@dataclass(frozen=True)
class Rule:
    kinds: frozenset[str] | None = None
    accounts: frozenset[str] | None = None  # None: any watched account
    min_score: float | None = None
    max_q: float | None = None
    channels: tuple[str, ...] | None = None
    quiet: tuple[time, time] | None = None
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def matches(self, signal: dict[str, Any], accounts: set[str]) -> bool:
        """`accounts`: the DIDs this rule is about (the watched ones when it names none)."""
        if self.kinds is not None and signal["kind"] not in self.kinds:
            return False
        if not (set(signal["subjects"]) & accounts):
            return False
        if self.min_score is not None and (signal["score"] or 0.0) < self.min_score:
            return False
        q = signal.get("q_value")
        return not (self.max_q is not None and q is not None and q > self.max_q)

    def release(self, now: datetime) -> datetime:
        """`now` (naive UTC), or the end of the quiet hours when now falls inside them."""
        if self.quiet is None:
            return now
        local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(self.tz)
        start, end = self.quiet
        t = local.time()
        inside = (start <= t < end) if start <= end else (t >= start or t < end)
        if not inside:
            return now
        until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if until <= local:
            until += timedelta(days=1)
        return until.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


@dataclass(frozen=True)
class AlertConfig:
    channels: tuple[Channel, ...]
    rules: tuple[Rule, ...]
    view_base: str | None = None
    retry_base: float = 30.0
    raw: dict[str, Any] = field(default_factory=dict)


def parse(config: dict[str, Any], label: str) -> AlertConfig:
    channels: list[Channel] = []
    raw_channels = config.get("channel", [])
    if not isinstance(raw_channels, list):
        raise TiewatchError(f"{label}: channels are [[channel]] tables")
    for i, c in enumerate(raw_channels, 1):
        where = f"{label}: channel {i}"
        if not isinstance(c, dict):
            raise TiewatchError(f"{where}: not a table")
        kind = c.get("type")
        if kind not in CHANNEL_TYPES:
            raise TiewatchError(f"{where}: type must be one of {', '.join(CHANNEL_TYPES)}, not {kind!r}")
        for key in REQUIRED[kind]:
            if not c.get(key):
                raise TiewatchError(f"{where} ({kind}): needs {key}")
        for key, value in c.items():
            ok = {"to": isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)),
                  "port": isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536,
                  "starttls": isinstance(value, bool)}.get(key, isinstance(value, str))
            if not ok:
                raise TiewatchError(f"{where} ({kind}): {key} has the wrong type ({value!r})")
        name = str(c.get("name") or kind)
        if any(ch.name == name for ch in channels):
            raise TiewatchError(f"{where}: another channel is already named {name!r} (give each a name)")
        channels.append(Channel(name, kind, {k: v for k, v in c.items() if k not in ("name", "type")}))
    raw_rules = config.get("rule", [])
    if not isinstance(raw_rules, list):
        raise TiewatchError(f"{label}: rules are [[rule]] tables")
    rules = [_rule(r, f"{label}: rule {i}", {c.name for c in channels}) for i, r in enumerate(raw_rules, 1)]
    alerts = config.get("alerts", {})
    if not isinstance(alerts, dict):
        raise TiewatchError(f"{label}: [alerts] must be a table")
    view_base = alerts.get("view_base")
    if view_base is not None and not isinstance(view_base, str):
        raise TiewatchError(f"{label}: alerts.view_base must be a URL")
    retry = alerts.get("retry_base", 30.0)
    if isinstance(retry, bool) or not isinstance(retry, int | float) or not 0 <= retry <= 86400:
        raise TiewatchError(f"{label}: alerts.retry_base must be a number of seconds")
    return AlertConfig(tuple(channels), tuple(rules) or (Rule(),), view_base, float(retry), config)


def _rule(r: Any, where: str, names: set[str]) -> Rule:
    if not isinstance(r, dict):
        raise TiewatchError(f"{where}: not a table")
    unknown = set(r) - {"kinds", "accounts", "min_score", "max_q", "channels", "quiet_hours", "timezone"}
    if unknown:
        raise TiewatchError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")

    def strings(key: str) -> list[str] | None:
        value = r.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TiewatchError(f"{where}: {key} must be a list of strings")
        return value

    kinds, accounts, channels = strings("kinds"), strings("accounts"), strings("channels")
    for c in channels or []:
        if c not in names:
            raise TiewatchError(f"{where}: no channel named {c!r}")
    quiet = None
    if r.get("quiet_hours") is not None:
        m = HOURS.match(str(r["quiet_hours"]).replace(" ", ""))
        if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
            raise TiewatchError(f"{where}: quiet_hours must look like 22:00-07:00")
        quiet = (time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4])))
    try:
        tz = ZoneInfo(str(r.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        raise TiewatchError(f"{where}: unknown timezone {r.get('timezone')!r}") from None
    numbers = {}
    for key in ("min_score", "max_q"):
        value = r.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TiewatchError(f"{where}: {key} must be a number")
        numbers[key] = float(value) if value is not None else None
    if quiet is None and r.get("timezone") is not None and not isinstance(r["timezone"], str):
        raise TiewatchError(f"{where}: timezone must be a name like Europe/London")
    any_account = accounts is None or "any" in accounts
    return Rule(frozenset(kinds) if kinds is not None else None,
                None if any_account else frozenset(a.lower().removeprefix("@") for a in accounts or []),
                numbers["min_score"], numbers["max_q"], tuple(channels) if channels is not None else None,
                quiet, tz)


def load(path: Path) -> AlertConfig:
    return parse(load_toml(path), str(path))
