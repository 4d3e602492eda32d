"""A Jetstream stand-in for tests: a WebSocket server on 127.0.0.1 that replays a capture and honours
`cursor` (events with time_us >= cursor), paced so a client can be killed mid-stream."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve


class ReplayServer:
    def __init__(self, capture: Path, per_second: int = 2000) -> None:
        self.lines = [ln for ln in capture.read_text().splitlines() if ln.strip()]
        self.times = [int(json.loads(ln)["time_us"]) for ln in self.lines]
        self.per_second = per_second
        self.cursors: list[int | None] = []
        self.server: Server | None = None
        self.thread: threading.Thread | None = None

    def handler(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path if ws.request else "").query)
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        self.cursors.append(cursor)
        chunk = max(self.per_second // 20, 1)
        try:
            sent = 0
            for line, t in zip(self.lines, self.times, strict=True):
                if cursor is not None and t < cursor:
                    continue
                ws.send(line)
                sent += 1
                if sent % chunk == 0:
                    time.sleep(0.05)
            while True:  # stay open like a live stream with nothing new
                ws.recv(timeout=30)
        except (ConnectionClosed, TimeoutError):
            return

    def __enter__(self) -> ReplayServer:
        self.server = serve(self.handler, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/subscribe"

    def __exit__(self, *exc: Any) -> None:
        if self.server is not None:
            self.server.shutdown()
