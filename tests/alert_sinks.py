"""Loopback receivers for alert tests: one HTTP server standing in for webhook, ntfy, Discord and Slack
endpoints (each a path; recording every request, able to fail the next N), and an SMTP server (aiosmtpd)
that demands STARTTLS and a login before it accepts mail."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


class HttpSink:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.fail_next: dict[str, int] = {}
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink.lock:
                    failing = sink.fail_next.get(self.path, 0)
                    if failing:
                        sink.fail_next[self.path] = failing - 1
                    else:
                        sink.received.append((self.path, dict(self.headers), body))
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def bodies(self, path: str) -> list[bytes]:
        with self.lock:
            return [b for p, _, b in self.received if p == path]

    def __enter__(self) -> HttpSink:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


class MailSink:
    """SMTP on 127.0.0.1 that refuses mail before STARTTLS and a login as user/secret."""

    def __init__(self, folder: Path, user: str = "desk", password: str = "s3cret") -> None:
        self.cert, key = self_signed(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert), str(key))
        self.messages: list[Any] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
                sink.messages.append(message_from_bytes(envelope.original_content or b""))
                return "250 OK"

        def authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str,
                         data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and data.login.decode() == user and data.password.decode() == password
            return AuthResult(success=ok, handled=False)

        with socket.socket() as probe:  # aiosmtpd needs a concrete port (it connects to itself on start)
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=free, tls_context=context,
                                     require_starttls=True, authenticator=authenticate, auth_required=True,
                                     auth_require_tls=True)

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def __enter__(self) -> MailSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()


def alert_file(path: Path, http: HttpSink, mail: MailSink, log: Path, extra: str = "") -> Path:
    path.write_text(f"""
[alerts]
retry_base = 0.2

[[channel]]
name = "hook"
type = "webhook"
url = "{http.url('/hook')}"

[[channel]]
type = "ntfy"
url = "{http.url('/ntfy/desk')}"

[[channel]]
type = "discord"
url = "{http.url('/discord')}"

[[channel]]
type = "slack"
url = "{http.url('/slack')}"

[[channel]]
type = "email"
host = "127.0.0.1"
port = {mail.port}
from = "tiewatch@desk.test"
to = ["desk@desk.test"]
cafile = "{mail.cert}"

[[channel]]
type = "log"
path = "{log}"
{extra}
""")
    return path


def hook_ids(http: HttpSink) -> list[str]:
    return [json.loads(b)["id"] for b in http.bodies("/hook")]
