"""The AT-protocol client against the loopback double: identity, repositories, profiles, followers, and
good citizenship (User-Agent, 429 + Retry-After, retries of 500s, slow answers and dropped connections)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from bsky_double import BskyDouble, build_car

from tiewatch.track.client import AtClient, CallFailed, handle_of, pds_of
from tiewatch.track.config import Endpoints, endpoints

REAL_DID = "did:plc:2a7ygipkrbh544aqhcav53oy"  # a real DID document of the capture (handle t045t.zmb.cm)


@pytest.fixture
def double() -> Iterator[BskyDouble]:
    with BskyDouble() as d:
        yield d


def client_for(d: BskyDouble, **kw: object) -> AtClient:
    eps = Endpoints(appview=d.url("appview"), plc=d.url("plc"), jetstream=d.jetstream.url)
    return AtClient(eps, backoff=0.05, **kw)  # type: ignore[arg-type]


def test_identity_handle_to_did_to_pds(double: BskyDouble) -> None:
    with client_for(double) as c:
        did = c.resolve_handle("@t045t.zmb.cm")
        assert did == REAL_DID
        doc = c.did_document(did)
        assert pds_of(doc) == double.url("pds") and handle_of(doc) == "t045t.zmb.cm"
        with pytest.raises(CallFailed, match="HTTP 404"):
            c.did_document("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
    user_agents = {h.get("User-Agent", "") for _, _, h in double.requests}
    assert all(ua.startswith("tiewatch/") for ua in user_agents)


def test_did_web_document_from_its_well_known_path(double: BskyDouble) -> None:
    did = double.web_did
    double.add_repo(build_car(did, {"app.bsky.feed.post/3k1": {"text": "hi", "createdAt": "2024-01-01T00:00:00Z"}},
                              "3kweb1"), handle="web.test")
    with client_for(double) as c:
        doc = c.did_document(did)
        assert pds_of(doc) == double.url("pds")
        assert c.latest_rev(pds_of(doc), did) == "3kweb1"
        assert c.get_repo(pds_of(doc), did) == double.repos[did]
    assert any(path == "/.well-known/did.json" for svc, path, _ in double.requests if svc == "pds")


def test_real_repository_bytes_and_revision(double: BskyDouble) -> None:
    dids = double.add_real_repos()
    with client_for(double) as c:
        pds = pds_of(c.did_document(dids[0]))
        assert c.latest_rev(pds, dids[0]) == "3migo7fijwi2k"  # the real corpus repository's commit rev
        assert c.get_repo(pds, dids[0])[:1] != b""


def test_429_with_retry_after_is_honoured_and_recorded(double: BskyDouble) -> None:
    double.fail("appview", "429", times=1, seconds=0.4)
    with client_for(double) as c:
        started = time.monotonic()
        assert c.resolve_handle("t045t.zmb.cm") == REAL_DID
        assert time.monotonic() - started >= 0.4
        assert [(h.reason, h.seconds) for h in c.held][:1] == [("HTTP 429", 0.4)]
    assert sum(1 for svc, _, _ in double.requests if svc == "appview") == 2


@pytest.mark.parametrize("fault", ["500", "drop", "slow"])
def test_transient_failures_are_retried(double: BskyDouble, fault: str) -> None:
    double.fail("plc", fault, times=2, seconds=1.0)
    with client_for(double, timeout=0.3) as c:
        assert c.did_document(REAL_DID)["id"] == REAL_DID
        assert len(c.held) == 2 and all(h.reason.startswith("retry after") for h in c.held)


def test_persistent_failure_gives_up_with_the_reason(double: BskyDouble) -> None:
    double.fail("plc", "500", times=100)
    with client_for(double, retries=2) as c, pytest.raises(CallFailed, match=r"HTTP 500 \(after 3 attempts\)"):
        c.did_document(REAL_DID)


def test_per_host_budget_spaces_requests(double: BskyDouble) -> None:
    with client_for(double, rate=10.0, burst=1.0) as c:
        started = time.monotonic()
        for _ in range(6):
            c.resolve_handle("t045t.zmb.cm")
        assert time.monotonic() - started >= 0.45
        assert any(h.reason == "request budget" for h in c.held)


def test_profiles_25_per_call_and_followers_paged_with_a_cap(double: BskyDouble) -> None:
    dids = sorted(double.accounts)[:30]
    target = double.accounts[dids[0]]
    target.followers = [f"did:plc:f{i:023d}" for i in range(250)]
    with client_for(double) as c:
        profiles = c.get_profiles(dids)
        assert {p["did"] for p in profiles} == set(dids)
        assert sum(1 for _, p, _ in double.requests if "getProfiles" in p) == 2
        members, capped = c.get_followers(target.did, cap=1000)
        assert members == target.followers and not capped
        members, capped = c.get_followers(target.did, cap=150)
        assert len(members) == 150 and capped


def test_endpoints_from_environment_then_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIEWATCH_BSKY_APPVIEW", raising=False)
    monkeypatch.setenv("TIEWATCH_BSKY_PLC", "http://127.0.0.1:9/plc/")
    eps = endpoints({"endpoints": {"appview": "http://127.0.0.1:8/", "plc": "http://ignored"}})
    assert eps.appview == "http://127.0.0.1:8" and eps.plc == "http://127.0.0.1:9/plc"
    assert eps.jetstream.startswith("wss://")
