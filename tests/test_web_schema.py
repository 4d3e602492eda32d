"""Schemathesis against /openapi.json, in-process (ASGI): generated requests to every operation never get a
server error, and no write succeeds without the token."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tiewatch.web.app import create_app

pytestmark = pytest.mark.slow
TOKEN = "schema-token"
EXAMPLES = 25  # per operation: about ten operations, a few seconds each


def test_no_server_error_and_no_write_without_the_token(detected_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    shutil.copy(detected_db, db)  # the server owns its own file
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(db, token=TOKEN))
    operations = [op.ok() for op in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} >= {
        ("GET", "/api/signals"), ("GET", "/api/signals/{signal_id}"), ("GET", "/api/accounts/{name}"),
        ("GET", "/api/pairs/{a}/{b}"), ("GET", "/api/briefs/{a}"), ("GET", "/api/news"), ("POST", "/api/ingest"),
        ("POST", "/api/detect"), ("GET", "/api/watchlist"), ("POST", "/api/watchlist"),
        ("DELETE", "/api/watchlist/{entry}"), ("GET", "/api/track/status")}
    seen: dict[str, set[int]] = {}
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            res = case.call()
            seen.setdefault(f"{case.method} {case.path}", set()).add(res.status_code)
            assert res.status_code < 500, f"{case.method} {case.formatted_path}: {res.status_code} {res.text[:300]}"
            kind = (res.headers.get("content-type") or [""])[0].split(";")[0]
            if case.method.upper() != "GET":
                assert res.status_code in (401, 403), (case.formatted_path, res.status_code, res.text[:200])
            assert kind in ("application/json", "application/problem+json", "text/markdown", "text/html"), kind
            if res.status_code >= 400:
                assert kind == "application/problem+json" and res.json()["code"]

        check()
    assert any(200 in codes for codes in seen.values()), seen
