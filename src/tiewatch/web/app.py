"""`tiewatch serve`: the web pages and the JSON API over the library (`tiewatch.Tiewatch`).

This layer only translates HTTP to library calls and results to JSON or HTML; it holds no SQL.

One process owns the DuckDB file. The server opens it once (read-write) and serves each request on its own
DuckDB cursor: an independent connection to the same database instance, so reads run in parallel and see the
last committed state, while writes (ingest, detect) are serialised by one lock and run in a worker thread.
Opening the file per request would not work (DuckDB lets one process hold a file), and one shared connection
behind a lock would serialise every read behind a long detect.

JSON conventions follow Datasette: filters are query parameters, paging is `?_size=` and an opaque cursor
`?_next=` (the response carries `next` and `next_url`), errors are `application/problem+json` carrying the
library's error `code`. Writes need `Authorization: Bearer <token>`, compared in constant time; reads are open
when the server listens on loopback (the default) and need the token otherwise.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import duckdb
from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from tiewatch import __version__
from tiewatch.api import Tiewatch, dumps
from tiewatch.errors import InvalidInput, StoreBusy, TiewatchError, http_status
from tiewatch.progress import ProgressCallback, ProgressEvent
from tiewatch.signals import KINDS
from tiewatch.timefmt import parse_user_time
from tiewatch.views import context
from tiewatch.views.pages import STATIC, Links, Renderer, zone
from tiewatch.views.sentences import in_zone_rows
from tiewatch.web.tracking import Tracker

PROBLEM = "application/problem+json"
WRITE_WAIT_S = 600.0  # a write waits this long for the one before it, then answers 503 busy
# A write that met another writer on the same rows (the tracker of `serve --track`) was rolled back whole; it is
# tried again after these pauses (seconds) before the answer is 503 busy.
CONFLICT_PAUSES_S = (0.05, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0)
W = TypeVar("W")


Size = Annotated[int, Query(alias="_size", ge=1, le=1000, description="Rows per page")]


class Problem(BaseModel):
    """An error (RFC 9457): `code` is the library's machine-readable error code."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str


PROBLEMS: dict[int | str, dict[str, Any]] = {
    s: {"model": Problem, "content": {PROBLEM: {}}, "description": d} for s, d in (
        (400, "Invalid input"), (404, "Not found"), (409, "Ambiguous name"), (503, "Busy"))}
WRITE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEMS, **{s: {"model": Problem, "content": {PROBLEM: {}}, "description": d} for s, d in (
        (401, "Missing or wrong bearer token"), (403, "Writes disabled: the server has no token"),
        (422, "Rejected file"))}}


class WatchChange(BaseModel):
    """Accounts to add to the watch list."""

    accounts: list[str] = Field(min_length=1, max_length=1000,
                                description="Bluesky handles (alice.bsky.social) or DIDs (did:plc:...)")


class AuthError(TiewatchError):
    code = "unauthorized"


class WritesDisabled(TiewatchError):
    code = "forbidden"


STATUS_EXTRA = {"unauthorized": 401, "forbidden": 403}


def status_of(e: TiewatchError) -> int:
    return STATUS_EXTRA.get(e.code) or http_status(e)


def problem(status: int, code: str, detail: str, title: str | None = None) -> JSONResponse:
    titles = {400: "Invalid input", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 409: "Ambiguous",
              422: "Unprocessable", 500: "Internal error", 503: "Busy"}
    body = {"type": "about:blank", "title": title or titles.get(status, "Error"), "status": status,
            "detail": detail, "code": code}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token(token_file: Path | None, env: str | None) -> str | None:
    """The bearer token: the file's first line when given, else TIEWATCH_TOKEN; None disables writes."""
    if token_file is not None:
        try:
            text = token_file.read_text().strip()
        except OSError as e:
            raise InvalidInput(f"--token-file {token_file}: {e.strerror}") from None
        if not text:
            raise InvalidInput(f"--token-file {token_file}: empty")
        return text
    return env.strip() if env and env.strip() else None


@dataclass
class Server:
    """The one owner of the database and the settings every request reads."""

    db: Path
    tz: str = "UTC"
    token: str | None = None
    reads_need_token: bool = False
    poll_s: float = 1.0
    tracker: Tracker | None = None
    owner: Tiewatch = field(init=False)
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.renderer = Renderer(zone(self.tz), Links())
        self.owner = Tiewatch(self.db)

    @contextmanager
    def read(self) -> Iterator[Tiewatch]:
        tw = self.owner.cursor()
        try:
            yield tw
        finally:
            tw.close()

    @contextmanager
    def write(self) -> Iterator[Tiewatch]:
        if not self.write_lock.acquire(timeout=WRITE_WAIT_S):
            raise StoreBusy("another ingest or detect is still running; try again later")
        tw = self.owner.cursor()
        try:
            yield tw
        finally:
            tw.close()
            self.write_lock.release()

    def writing(self, job: Callable[[Tiewatch], W]) -> W:
        """Run a write; when it meets another writer on the same rows (DuckDB rolls the loser back whole), try
        it again after a pause, so a watch-list change or an upload does not fail because a tracker period was
        writing at that moment. Every write here is all or nothing and idempotent, so a retry is safe."""
        for pause in (*CONFLICT_PAUSES_S, None):
            try:
                with self.write() as tw:
                    return job(tw)
            except duckdb.TransactionException:
                if pause is None:
                    raise
                time.sleep(pause)
        raise AssertionError("unreachable")  # the loop returns or raises

    def check_token(self, given: str | None) -> None:
        if self.token is None:
            raise WritesDisabled("writes are disabled: start the server with TIEWATCH_TOKEN set or --token-file")
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            raise AuthError("a bearer token is required (Authorization: Bearer <token>) and must match the "
                            "server's")

    def close(self) -> None:
        self.owner.close()


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _progress_json(ev: ProgressEvent) -> dict[str, Any]:
    return {"event": "progress", "stage": ev.stage, "item": ev.item, "done": ev.done, "total": ev.total,
            "fraction": round(ev.fraction, 4)}


def stream_job(job: Callable[[ProgressCallback], Any], cleanup: Callable[[], None] | None = None) -> StreamingResponse:
    """Run a long write in a worker thread and stream its progress as NDJSON lines: `progress` events, then
    one `done` (with the result) or `error` (with the problem)."""
    lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
    last: dict[str, Any] = {}

    def report(ev: ProgressEvent) -> None:
        key = (ev.item, round(ev.fraction, 2))
        if last.get("key") != key:  # at most one line per item and percent
            last["key"] = key
            lines.put(_progress_json(ev))

    def worker() -> None:
        try:
            result = job(report)
            lines.put({"event": "done", "result": result.as_json()})
        except TiewatchError as e:
            lines.put({"event": "error", "status": status_of(e), "code": e.code, "detail": str(e)})
        except Exception:
            lines.put({"event": "error", "status": 500, "code": "error", "detail": "internal error"})
        finally:
            if cleanup:
                cleanup()
            lines.put(None)

    threading.Thread(target=worker, name="tiewatch-write", daemon=True).start()

    def body() -> Iterator[str]:
        while (item := lines.get()) is not None:
            yield json.dumps(item, ensure_ascii=False) + "\n"

    return StreamingResponse(body(), media_type="application/x-ndjson")


def json_response(obj: Any) -> Response:
    return Response(dumps(obj), media_type="application/json")


def create_app(db: Path, *, tz: str = "UTC", token: str | None = None, host: str = "127.0.0.1",
               poll_s: float = 1.0, tracker: Tracker | None = None) -> FastAPI:
    """The app over the database `db`; with a `tracker`, that tracker runs for the app's life (started when
    the server starts, stopped at its safe point when the server stops)."""
    server = Server(Path(db), tz, token, reads_need_token=not is_loopback(host), poll_s=poll_s, tracker=tracker)
    r = server.renderer

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if tracker is not None:
            tracker.start()
        try:
            yield
        finally:
            if tracker is not None:
                await run_in_threadpool(tracker.stop)
            server.close()

    app = FastAPI(title="tiewatch", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Signals about the ties between public accounts, with their evidence. Reads are "
                              "open on loopback; writes need `Authorization: Bearer <token>`.")
    app.state.server = server
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def wants_html(request: Request) -> bool:
        return not request.url.path.startswith("/api") and request.url.path != "/openapi.json"

    def html_error(status: int, title: str, detail: str) -> HTMLResponse:
        return HTMLResponse(r.render("error.html", title=title, detail=detail), status_code=status)

    @app.exception_handler(TiewatchError)
    async def on_library_error(request: Request, e: TiewatchError) -> Response:
        status = status_of(e)
        if wants_html(request):
            return html_error(status, {404: "Not found", 409: "Which one?"}.get(status, "Cannot show this"), str(e))
        return problem(status, e.code, str(e))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, e: RequestValidationError) -> Response:
        parts = []
        for err in e.errors():
            where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "body", "path"))
            parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
        detail = "; ".join(parts) or "invalid request"
        if wants_html(request):
            return html_error(400, "Cannot show this", detail)
        return problem(400, "invalid_input", detail)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, e: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "error")
        if wants_html(request):
            return html_error(e.status_code, "Not found" if e.status_code == 404 else "Error", str(e.detail))
        return problem(e.status_code, code, str(e.detail))

    @app.exception_handler(duckdb.TransactionException)
    async def on_conflict(request: Request, e: duckdb.TransactionException) -> Response:
        # Two writers touched the same rows (an API write beside the tracker's detection): nothing was written.
        detail = "another write (the tracker, or another request) changed the same records; try again"
        if wants_html(request):
            return html_error(503, "Busy", detail)
        return problem(503, "busy", detail)

    @app.exception_handler(Exception)
    async def on_crash(request: Request, e: Exception) -> Response:  # a bug: say so, never show a traceback
        if wants_html(request):
            return html_error(500, "Something went wrong", "The server failed on this request; it has been logged.")
        return problem(500, "error", "internal error")

    def reader(request: Request) -> None:
        if server.reads_need_token:
            server.check_token(bearer(request))

    def writer(request: Request) -> None:
        server.check_token(bearer(request))

    Read = Depends(reader)
    Write = Depends(writer)

    # -- the JSON API ----------------------------------------------------------------------------------
    @app.get("/api/signals", tags=["signals"], responses=PROBLEMS, dependencies=[Read])
    def api_signals(request: Request, kind: Literal[KINDS] | None = None,  # type: ignore[valid-type]
                    account: str | None = None, since: str | None = None, until: str | None = None,
                    q: str | None = None, sort: Annotated[Literal["newest", "significant"],
                                                          Query(alias="_sort")] = "newest",
                    size: Size = 50, after: Annotated[str | None, Query(alias="_next")] = None) -> Response:
        """Signals, newest (or most significant) first, with filters; page on with `next`."""
        with server.read() as tw:
            rows, nxt = tw.feed(kind=kind, account=account, since=parse_user_time(since, "since"),
                                until=parse_user_time(until, "until"), q=q, sort=sort, limit=size, after=after)
        next_url = str(request.url.include_query_params(_next=nxt)) if nxt else None
        return json_response({"signals": rows, "next": nxt, "next_url": next_url})

    @app.get("/api/signals/{signal_id}", tags=["signals"], responses=PROBLEMS, dependencies=[Read])
    def api_signal(signal_id: str) -> Response:
        """One signal with its evidence resolved to the stored events, news and metric rows."""
        with server.read() as tw:
            page = context.signal_page(tw.store, signal_id)
        return json_response({"signal": page["s"], "evidence": page["ev"]})

    @app.get("/api/accounts", tags=["accounts"], responses=PROBLEMS, dependencies=[Read])
    def api_accounts(q: str | None = None, size: Size = 100) -> Response:
        """Accounts whose handle or name contains `q`, most active first."""
        with server.read() as tw:
            return json_response({"accounts": tw.accounts(q, limit=size)})

    @app.get("/api/accounts/{name}", tags=["accounts"], responses=PROBLEMS, dependencies=[Read])
    def api_account(name: str) -> Response:
        """An account: profile, follower series, growth, ties now and a year earlier, follows, signals, news."""
        with server.read() as tw:
            view = tw.account(name)
            handle = f"{view.account.platform}:{view.account.account}"
            out = {**view.as_json(), "growth": tw.growth_table(handle), "follows": tw.follows(handle)}
        return json_response(out)

    @app.get("/api/pairs/{a}/{b}", tags=["pairs"], responses=PROBLEMS, dependencies=[Read])
    def api_pair(a: str, b: str, bucket: Literal["week", "month"] = "month") -> Response:
        """Both directions of a relationship per period, with its signals and news."""
        with server.read() as tw:
            return json_response(tw.pair(a, b, bucket=bucket).as_json())

    @app.get("/api/briefs/{a}", tags=["briefs"], responses=PROBLEMS, dependencies=[Read],
             response_class=Response)
    def api_brief(a: str, b: str | None = None, since: str | None = None,
                  format: Literal["json", "md", "html"] = "json") -> Response:
        """The brief as an article: JSON parts, Markdown or a printable HTML page (downloads)."""
        with server.read() as tw:
            art = tw.article(a, b, since=parse_user_time(since, "since"), tz=server.tz)
        name = "brief-" + "-".join(x for x in (a, b) if x)
        if format == "md":
            return PlainTextResponse(art.markdown(), media_type="text/markdown; charset=utf-8",
                                     headers={"Content-Disposition": f'attachment; filename="{_safe(name)}.md"'})
        if format == "html":
            return HTMLResponse(art.html(), headers={"Content-Disposition":
                                                     f'attachment; filename="{_safe(name)}.html"'})
        return json_response(art.as_json())

    @app.get("/api/news", tags=["news"], responses=PROBLEMS, dependencies=[Read])
    def api_news(account: str | None = None, since: str | None = None, until: str | None = None,
                 q: str | None = None, size: Size = 100) -> Response:
        """News items, newest first."""
        with server.read() as tw:
            return json_response({"news": tw.news(account=account, since=parse_user_time(since, "since"),
                                                  until=parse_user_time(until, "until"), q=q, limit=size)})

    @app.get("/api/status", tags=["status"], responses=PROBLEMS, dependencies=[Read])
    def api_status() -> Response:
        """What the store holds, and whether writes are enabled."""
        with server.read() as tw:
            stats = tw.stats()
        return json_response({"version": __version__, "db": str(server.db), "writes": server.token is not None,
                              "stats": stats})

    def tracking() -> dict[str, Any] | None:
        return server.tracker.state.as_json() if server.tracker else None

    @app.get("/api/watchlist", tags=["watch list"], responses=PROBLEMS, dependencies=[Read])
    def api_watchlist() -> Response:
        """The Bluesky watch list (as `tiewatch track list --json`), and whether this server tracks it."""
        with server.read() as tw:
            return json_response({"watchlist": tw.watchlist(), "tracking": tracking()})

    @app.post("/api/watchlist", tags=["watch list"], responses=WRITE_PROBLEMS, dependencies=[Write])
    def api_watch(change: WatchChange) -> Response:
        """Add handles or DIDs to the watch list (one malformed entry refuses them all); answers those that were
        new and the list."""
        added, listed = server.writing(lambda tw: (tw.watch(change.accounts), tw.watchlist()))
        return json_response({"added": added, "watchlist": listed})

    @app.delete("/api/watchlist/{entry}", tags=["watch list"], responses=WRITE_PROBLEMS, dependencies=[Write])
    def api_unwatch(entry: str) -> Response:
        """Remove an entry (as typed, its DID or its handle); the data gathered so far stays."""
        removed, listed = server.writing(lambda tw: (tw.unwatch([entry]), tw.watchlist()))
        return json_response({"removed": removed, "watchlist": listed})

    @app.get("/api/track/status", tags=["watch list"], responses=PROBLEMS, dependencies=[Read])
    def api_track_status() -> Response:
        """Per watched account what `tiewatch track status --json` shows (last backfill and snapshots, cursor
        lag, signals, alerts sent and failed, limits), and the tracker of this server when it runs one."""
        with server.read() as tw:
            rows = tw.track_status()
        return json_response({"accounts": rows, "tracking": tracking()})

    @app.post("/api/ingest", tags=["writes"], responses=WRITE_PROBLEMS, dependencies=[Write])
    def api_ingest(files: Annotated[list[UploadFile], File(description="Files to load")],
                   table: Annotated[Literal["events", "metrics", "news", "accounts"] | None, Form()] = None,
                   format: Annotated[Literal["jsonl", "json", "csv", "tsv", "text", "parquet"] | None,
                                     Form()] = None,
                   strict: Annotated[bool, Form()] = False,
                   stream: Annotated[bool, Query(description="Stream progress as NDJSON")] = False) -> Response:
        """Load uploaded files (idempotent; bad records to quarantine). With `?stream=true` the answer is
        NDJSON: progress lines, then `done` with the summary (or `error`)."""
        folder, paths = _save_uploads(files)

        def job(progress: ProgressCallback) -> Any:
            return server.writing(lambda tw: tw.ingest(list(paths), table=table, fmt=format, strict=strict,
                                                       progress=progress))

        def cleanup() -> None:
            shutil.rmtree(folder, ignore_errors=True)

        if stream:
            return stream_job(job, cleanup)
        try:
            summary = job(lambda ev: None)
        finally:
            cleanup()
        return json_response(summary.as_json())

    @app.post("/api/detect", tags=["writes"], responses=WRITE_PROBLEMS, dependencies=[Write])
    def api_detect(fdr: Annotated[float, Query(gt=0, le=1)] = 0.05, since: str | None = None,
                   until: str | None = None, stream: bool = False) -> Response:
        """Run every detector and replace the stored signals. `?stream=true`: NDJSON progress, then `done`."""
        lo, hi = parse_user_time(since, "since"), parse_user_time(until, "until")

        def job(progress: ProgressCallback) -> Any:
            return server.writing(lambda tw: tw.detect(since=lo, until=hi, fdr=fdr, progress=progress))

        if stream:
            return stream_job(job)
        return json_response(job(lambda ev: None).as_json())

    @app.get("/api/stream", include_in_schema=False, dependencies=[Read])
    async def api_stream(request: Request) -> StreamingResponse:
        """Server-sent events: one `signal` event for each signal stored after the client connected."""
        def state() -> tuple[tuple[int, int], set[str]]:
            with server.read() as tw:
                return tw.feed_state(), tw.signal_ids()

        def fresh(ids: list[str]) -> list[dict[str, Any]]:
            with server.read() as tw:
                return [context.live_signal(r, s) for s in in_zone_rows(tw.store, tw.signals_by_id(ids), r.tz)]

        async def events() -> AsyncIterator[str]:
            mark, known = await run_in_threadpool(state)
            yield "retry: 3000\n: connected\n\n"
            quiet = 0.0
            while not await request.is_disconnected():
                await asyncio.sleep(server.poll_s)
                with server.read() as tw:
                    now = await run_in_threadpool(tw.feed_state)
                if now == mark:
                    quiet += server.poll_s
                    if quiet >= 15:
                        quiet = 0.0
                        yield ": still here\n\n"
                    continue
                mark, ids = await run_in_threadpool(state)
                added = sorted(ids - known)
                known = ids
                for s in reversed(await run_in_threadpool(fresh, added)):  # oldest first: newest ends on top
                    yield f"event: signal\nid: {s['id']}\ndata: {dumps(s)}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # -- the pages -------------------------------------------------------------------------------------
    def page(template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(r.render(template, **ctx), status_code=status)

    @app.get("/", include_in_schema=False, dependencies=[Read])
    def feed_page(request: Request, kind: str | None = None, account: str | None = None,
                  since: str | None = None, until: str | None = None, q: str | None = None,
                  sort: str = "newest", after: Annotated[str | None, Query(alias="_next")] = None) -> HTMLResponse:
        f = {"kind": kind or None, "account": account or None, "since": since or None, "until": until or None,
             "q": q or None, "sort": sort}
        try:
            with server.read() as tw:
                rows, nxt = tw.feed(kind=f["kind"], account=f["account"],
                                    since=parse_user_time(f["since"], "From"),
                                    until=parse_user_time(f["until"], "Until"), q=f["q"], sort=sort, limit=50,
                                    after=after or None)
                rows = in_zone_rows(tw.store, rows, r.tz)
        except TiewatchError as e:
            return page("feed.html", status_of(e), signals=[], next_url=None, kinds=KINDS, f=f, error=str(e),
                        accounts=None, note=None)
        next_url = str(request.url.include_query_params(_next=nxt)) if nxt else None
        return page("feed.html", signals=rows, next_url=next_url, kinds=KINDS, f=f, error=None, accounts=None,
                    note=None)

    @app.get("/signals/{signal_id}", include_in_schema=False, dependencies=[Read])
    def signal_html(signal_id: str) -> HTMLResponse:
        with server.read() as tw:
            return page("signal.html", **context.signal_page(tw.store, signal_id, r.tz))

    @app.get("/accounts", include_in_schema=False, dependencies=[Read])
    def accounts_html(q: str | None = None) -> HTMLResponse:
        with server.read() as tw:
            return page("accounts.html", accounts=tw.accounts(q or None, limit=200), q=q)

    @app.get("/accounts/{name}", include_in_schema=False, dependencies=[Read])
    def account_html(name: str) -> HTMLResponse:
        with server.read() as tw:
            return page("account.html", **context.account_page(tw.store, name, tz=r.tz))

    @app.get("/pairs/{a}/{b}", include_in_schema=False, dependencies=[Read])
    def pair_html(a: str, b: str, bucket: Literal["week", "month"] = "month") -> HTMLResponse:
        with server.read() as tw:
            return page("pair.html", **context.pair_page(tw.store, a, b, bucket=bucket, tz=r.tz))

    @app.get("/briefs/{a}", include_in_schema=False, dependencies=[Read])
    def brief_html(a: str, b: str | None = None, since: str | None = None) -> HTMLResponse:
        with server.read() as tw:
            ctx = context.brief_page(tw.store, a, b or None, parse_user_time(since or None, "since"), tz=r.tz)
        return page("brief.html", **ctx)

    @app.get("/upload", include_in_schema=False, dependencies=[Read])
    def upload_html() -> HTMLResponse:
        return page("upload.html", result=None, error=None)

    @app.post("/upload", include_in_schema=False)
    def upload_post(files: Annotated[list[UploadFile], File()], token: Annotated[str, Form()] = "",
                    table: Annotated[str, Form()] = "", detect: Annotated[str, Form()] = "") -> HTMLResponse:
        try:
            server.check_token(token)
            if table not in ("", "events", "metrics", "news", "accounts"):
                raise InvalidInput(f"table {table!r}: choose events, metrics, news or accounts")
            folder, paths = _save_uploads(files)
            try:
                def load(tw: Tiewatch) -> Any:
                    loaded = tw.ingest(list(paths), table=table or None)
                    if detect:
                        tw.detect()
                    return loaded

                summary = server.writing(load)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        except TiewatchError as e:
            return page("upload.html", status_of(e), result=None, error=str(e))
        return page("upload.html", result=summary, error=None)

    def watch_ctx(**extra: Any) -> dict[str, Any]:
        with server.read() as tw:
            rows = tw.track_status()
        return {"rows": rows, "tracking": tracking(), "result": None, "error": None, **extra}

    @app.get("/watchlist", include_in_schema=False, dependencies=[Read])
    def watchlist_html() -> HTMLResponse:
        return page("watchlist.html", **watch_ctx())

    @app.post("/watchlist", include_in_schema=False)
    def watchlist_post(token: Annotated[str, Form()] = "", action: Annotated[str, Form()] = "",
                       accounts: Annotated[str, Form()] = "",
                       entry: Annotated[list[str] | None, Form()] = None) -> HTMLResponse:
        try:
            server.check_token(token)
            if action == "add":
                added = server.writing(lambda tw: tw.watch([a for a in accounts.replace(",", " ").split() if a]))
                result = f"Added {len(added)}: {', '.join(added)}" if added else "Already on the watch list."
            elif action == "remove":
                if not entry:
                    raise InvalidInput("tick the accounts to remove")
                removed = server.writing(lambda tw: tw.unwatch(entry))
                result = f"Removed {len(removed)}: {', '.join(removed)} (their data stays)."
            else:
                raise InvalidInput("choose add or remove")
        except TiewatchError as e:
            return page("watchlist.html", status_of(e), **watch_ctx(error=str(e)))
        return page("watchlist.html", **watch_ctx(result=result))

    def status_ctx(**extra: Any) -> dict[str, Any]:
        with server.read() as tw:
            stats = tw.stats()
            quarantine = tw.quarantine(limit=20)
        tables = [(k, v) for k, v in stats.items() if isinstance(v, int)]
        return {"db": str(server.db), "tables": tables, "quarantine": quarantine, "result": None, "error": None,
                "tracking": tracking(), **extra}

    @app.get("/status", include_in_schema=False, dependencies=[Read])
    def status_html() -> HTMLResponse:
        return page("status.html", **status_ctx())

    @app.post("/status", include_in_schema=False)
    def status_post(token: Annotated[str, Form()] = "", fdr: Annotated[str, Form()] = "0.05") -> HTMLResponse:
        try:
            server.check_token(token)
            try:
                level = float(fdr)
            except ValueError:
                raise InvalidInput(f"false-discovery rate {fdr!r}: a number between 0 and 1") from None
            if not 0 < level <= 1:
                raise InvalidInput(f"false-discovery rate {fdr!r}: a number between 0 and 1")
            result = server.writing(lambda tw: tw.detect(fdr=level))
        except TiewatchError as e:
            return page("status.html", status_of(e), **status_ctx(error=str(e)))
        return page("status.html", **status_ctx(result=result.as_json()))

    return app


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80] or "brief"


def _save_uploads(files: list[UploadFile]) -> tuple[Path, list[Path]]:
    """Uploaded files into a private temporary folder, under their own (sanitised) names: the name tells
    the loader the format."""
    if not files:
        raise InvalidInput("no file uploaded")
    folder = Path(tempfile.mkdtemp(prefix="tiewatch-upload-"))
    paths = []
    for i, f in enumerate(files):
        base = _safe(Path(f.filename or "").name) or "upload"
        path = folder / f"{i:03d}-{base}"
        with path.open("wb") as out:
            shutil.copyfileobj(f.file, out)
        paths.append(path)
    return folder, paths
