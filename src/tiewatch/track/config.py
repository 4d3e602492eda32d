"""Where the tracker talks to, and the alert file that can also name those places.

Endpoints come from the environment first (TIEWATCH_BSKY_APPVIEW, TIEWATCH_BSKY_PLC, TIEWATCH_JETSTREAM), then
the `[endpoints]` table of the alert/config TOML file (appview, plc, jetstream), then Bluesky's public
services. An account's PDS is never configured: it is the one its DID document names.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tiewatch.errors import TiewatchError

DEFAULT_APPVIEW = "https://public.api.bsky.app"
DEFAULT_PLC = "https://plc.directory"
DEFAULT_JETSTREAM = "wss://jetstream2.us-east.bsky.network/subscribe"
ENV = {"appview": "TIEWATCH_BSKY_APPVIEW", "plc": "TIEWATCH_BSKY_PLC", "jetstream": "TIEWATCH_JETSTREAM"}


@dataclass(frozen=True)
class Endpoints:
    appview: str = DEFAULT_APPVIEW
    plc: str = DEFAULT_PLC
    jetstream: str = DEFAULT_JETSTREAM


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise TiewatchError(f"{path}: cannot read ({e.strerror or e})") from None
    except tomllib.TOMLDecodeError as e:
        raise TiewatchError(f"{path}: not valid TOML ({e})") from None


def endpoints(config: dict[str, Any] | None = None, label: str = "config") -> Endpoints:
    table = (config or {}).get("endpoints", {})
    if not isinstance(table, dict):
        raise TiewatchError(f"{label}: [endpoints] must be a table")
    values: dict[str, str] = {}
    for key, env in ENV.items():
        value = os.environ.get(env) or table.get(key)
        if value is not None:
            if not isinstance(value, str) or "://" not in value:
                raise TiewatchError(f"{label}: endpoints.{key} must be a URL, not {value!r}")
            values[key] = value.rstrip("/")
    return Endpoints(**values)
