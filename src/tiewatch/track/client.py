"""A small AT-protocol client over httpx that behaves as a good citizen of the network.

Every request names tiewatch in its User-Agent and passes a per-host budget (a token bucket). A 429 is
honoured: Retry-After (seconds or an HTTP date), else RateLimit-Reset, decides when that host is asked again;
a response saying RateLimit-Remaining: 0 holds the host back until its reset. 5xx answers, timeouts and
dropped connections are retried with exponential backoff and full jitter. Every wait the client imposes on
itself is recorded in `held`, so `track status` can say when a limit held work back.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from tiewatch import __version__
from tiewatch.errors import TiewatchError
from tiewatch.track.config import Endpoints

USER_AGENT = f"tiewatch/{__version__} (+https://github.com/tiewatch/tiewatch; watch-list tracker)"
PROFILES_PER_CALL = 25  # app.bsky.actor.getProfiles takes at most 25 actors
FOLLOWERS_PER_PAGE = 100  # app.bsky.graph.getFollowers pages hold at most 100
MAX_WAIT = 300.0  # never sleep longer than this for one answer; give up on the call instead


class CallFailed(TiewatchError):
    """A call that failed after its retries (or was refused with a 4xx other than 429)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Held:
    host: str
    seconds: float
    reason: str


@dataclass
class HostBudget:
    """A token bucket: `rate` requests per second, bursts up to `burst`."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0
    not_before: float = 0.0  # a server-imposed pause (429, RateLimit-Remaining: 0)

    def wait_time(self, now: float) -> float:
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        wait = max(self.not_before - now, 0.0)
        if self.tokens < 1:
            wait = max(wait, (1 - self.tokens) / self.rate)
        return wait


@dataclass
class AtClient:
    endpoints: Endpoints
    timeout: float = 20.0
    retries: int = 5
    backoff: float = 0.5
    rate: float = 10.0  # requests per second per host
    burst: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    held: list[Held] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._http = httpx.Client(timeout=self.timeout, headers={"User-Agent": USER_AGENT},
                                  follow_redirects=True)
        self._budgets: dict[str, HostBudget] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AtClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the transport -------------------------------------------------------------------------------
    def _budget(self, host: str) -> HostBudget:
        with self._lock:
            return self._budgets.setdefault(host, HostBudget(self.rate, self.burst))

    def _hold(self, host: str, seconds: float, reason: str) -> None:
        if seconds > 0:
            self.held.append(Held(host, seconds, reason))
            self.sleep(seconds)

    def get(self, url: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None) -> httpx.Response:
        host = urlsplit(url).netloc
        budget = self._budget(host)
        attempt = 0
        while True:
            wait = budget.wait_time(self.clock())
            if wait > 0:
                self._hold(host, min(wait, MAX_WAIT), "request budget" if budget.not_before <= self.clock()
                           else "rate limit")
                budget.wait_time(self.clock())
            budget.tokens -= 1
            self.calls[host] = self.calls.get(host, 0) + 1
            try:
                response = self._http.get(url, params=params)
            except httpx.TransportError as e:
                reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                attempt = self._retry(host, attempt, url, reason)
                continue
            pause = server_pause(response)
            if response.status_code == 429:
                if pause is None:
                    pause = self._jitter(attempt)
                if pause > MAX_WAIT:
                    raise CallFailed(f"{url}: rate limited for {pause:.0f}s; try later", 429)
                budget.not_before = self.clock() + pause
                attempt += 1
                if attempt > self.retries:
                    raise CallFailed(f"{url}: still rate limited after {self.retries} retries", 429)
                self.held.append(Held(host, pause, "HTTP 429"))
                continue
            if pause is not None and response.headers.get("ratelimit-remaining", "").strip() == "0":
                budget.not_before = self.clock() + min(pause, MAX_WAIT)
            if response.status_code >= 500:
                attempt = self._retry(host, attempt, url, f"HTTP {response.status_code}")
                continue
            if response.status_code >= 400:
                raise CallFailed(f"{url}: HTTP {response.status_code} {_error_text(response)}",
                                 response.status_code)
            return response

    def _jitter(self, attempt: int) -> float:
        return random.uniform(0, self.backoff * 2 ** attempt)  # full jitter

    def _retry(self, host: str, attempt: int, url: str, reason: str) -> int:
        if attempt >= self.retries:
            raise CallFailed(f"{url}: {reason} (after {attempt + 1} attempts)")
        self._hold(host, self._jitter(attempt), f"retry after {reason}")
        return attempt + 1

    def xrpc(self, base: str, method: str, params: dict[str, Any] | list[tuple[str, Any]]) -> Any:
        response = self.get(f"{base}/xrpc/{method}", params)
        try:
            return response.json()
        except ValueError:
            raise CallFailed(f"{base}/xrpc/{method}: the answer is not JSON") from None

    # -- identity ------------------------------------------------------------------------------------
    def resolve_handle(self, handle: str) -> str:
        did = self.xrpc(self.endpoints.appview, "com.atproto.identity.resolveHandle",
                        {"handle": handle.lstrip("@")}).get("did")
        if not isinstance(did, str) or not did.startswith("did:"):
            raise CallFailed(f"{handle}: the AppView returned no DID")
        return did

    def did_document(self, did: str) -> dict[str, Any]:
        if did.startswith("did:plc:"):
            url = f"{self.endpoints.plc}/{did}"
        elif did.startswith("did:web:"):
            host = did.removeprefix("did:web:").replace("%3A", ":").replace("%3a", ":")
            if ":" in host.split(":", 1)[0] or "/" in host:
                raise CallFailed(f"{did}: did:web with a path is not supported")
            # https always, except for loopback hosts (a local test double or a dev PDS).
            scheme = "http" if host.split(":")[0] in ("localhost", "127.0.0.1") else "https"
            url = f"{scheme}://{host}/.well-known/did.json"
        else:
            raise CallFailed(f"{did}: only did:plc and did:web are supported")
        doc = self.get(url).json()
        if not isinstance(doc, dict) or doc.get("id") != did:
            raise CallFailed(f"{did}: the DID document found at {url} is for another DID")
        return doc

    # -- repositories --------------------------------------------------------------------------------
    def latest_rev(self, pds: str, did: str) -> str | None:
        rev = self.xrpc(pds, "com.atproto.sync.getLatestCommit", {"did": did}).get("rev")
        return rev if isinstance(rev, str) else None

    def get_repo(self, pds: str, did: str, since: str | None = None) -> bytes:
        """The repository as a CAR; with `since`, only the blocks written after that revision (a diff)."""
        params = {"did": did} if since is None else {"did": did, "since": since}
        return self.get(f"{pds}/xrpc/com.atproto.sync.getRepo", params).content

    # -- AppView -------------------------------------------------------------------------------------
    def get_profiles(self, actors: list[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i in range(0, len(actors), PROFILES_PER_CALL):
            chunk = actors[i: i + PROFILES_PER_CALL]
            answer = self.xrpc(self.endpoints.appview, "app.bsky.actor.getProfiles",
                               [("actors", a) for a in chunk])
            out.extend(p for p in answer.get("profiles", []) if isinstance(p, dict))
        return out

    def get_followers(self, actor: str, cap: int) -> tuple[list[str], bool]:
        """Follower DIDs, at most `cap` of them; True when the cap cut the list short."""
        members: list[str] = []
        cursor: str | None = None
        while len(members) < cap:
            params: dict[str, Any] = {"actor": actor, "limit": min(FOLLOWERS_PER_PAGE, cap - len(members))}
            if cursor:
                params["cursor"] = cursor
            answer = self.xrpc(self.endpoints.appview, "app.bsky.graph.getFollowers", params)
            members += [f["did"] for f in answer.get("followers", []) if isinstance(f, dict) and "did" in f]
            cursor = answer.get("cursor")
            if not cursor or not answer.get("followers"):
                return members[:cap], False
        return members[:cap], True


def server_pause(response: httpx.Response) -> float | None:
    """Seconds until the server allows another request, from Retry-After or RateLimit-* headers."""
    h = response.headers
    retry_after = h.get("retry-after")
    if retry_after:
        try:
            seconds = float(retry_after)
            return seconds if math.isfinite(seconds) and seconds >= 0 else None
        except ValueError:
            try:
                return max(parsedate_to_datetime(retry_after).timestamp() - time.time(), 0.0)
            except (TypeError, ValueError):
                pass
    reset = h.get("ratelimit-reset")
    if reset and (response.status_code == 429 or h.get("ratelimit-remaining", "").strip() == "0"):
        try:
            value = float(reset)
        except ValueError:
            return None
        if not math.isfinite(value) or value < 0:
            return None
        # Bluesky sends an epoch second; the IETF draft a delta. Large values are epochs.
        return max(value - time.time(), 0.0) if value > 1e9 else value
    return None


def pds_of(doc: dict[str, Any]) -> str:
    for service in doc.get("service") or []:
        if isinstance(service, dict) and (service.get("id") in ("#atproto_pds", f"{doc.get('id')}#atproto_pds")):
            endpoint = service.get("serviceEndpoint")
            if isinstance(endpoint, str):
                return endpoint.rstrip("/")
    raise CallFailed(f"{doc.get('id')}: its DID document names no PDS")


def handle_of(doc: dict[str, Any]) -> str | None:
    for aka in doc.get("alsoKnownAs") or []:
        if isinstance(aka, str) and aka.startswith("at://"):
            return aka.removeprefix("at://")
    return None


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body.get("message") or body.get("error") or "")[:200]
    except ValueError:
        return ""
