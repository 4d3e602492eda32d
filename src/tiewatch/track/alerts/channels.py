"""Sending one alert to one channel. Each sender raises DeliveryError on failure and returns on success.

Every alert has a stable id (signal:channel); webhooks send it as the Idempotency-Key header and in the body,
mail as its Message-ID, so a receiver can drop the rare repeat (a kill between a delivery and its record).
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from tiewatch.track.alerts.config import Channel
from tiewatch.track.client import USER_AGENT

TIMEOUT = 10.0


class DeliveryError(Exception):
    pass


def text_of(alert: dict[str, Any], markdown: str = "plain") -> str:
    lines = [alert["summary"]]
    for ev in alert["evidence"]:
        url = ev.get("url")
        label = ev.get("label") or ev["id"]
        if url and markdown == "slack":
            lines.append(f"• <{url}|{label}>")
        elif url and markdown == "md":
            lines.append(f"• [{label}]({url})")
        else:
            lines.append(f"• {label}" + (f": {url}" if url else ""))
    if alert.get("view"):
        lines.append(("View: " if markdown == "plain" else "") + alert["view"])
    return "\n".join(lines)


def _post(url: str, *, alert_id: str, json_body: Any = None, content: bytes | None = None,
          headers: dict[str, str] | None = None) -> None:
    try:
        response = httpx.post(url, json=json_body, content=content, timeout=TIMEOUT,
                              headers={"User-Agent": USER_AGENT, "Idempotency-Key": alert_id, **(headers or {})})
    except httpx.HTTPError as e:
        raise DeliveryError(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__) from None
    if response.status_code >= 300:
        raise DeliveryError(f"HTTP {response.status_code} from {url}")


def send(channel: Channel, alert: dict[str, Any]) -> None:
    o = channel.options
    aid = alert["id"]
    if channel.type == "webhook":
        _post(o["url"], alert_id=aid, json_body=alert)
    elif channel.type == "slack":
        _post(o["url"], alert_id=aid, json_body={"text": text_of(alert, "slack")})
    elif channel.type == "discord":
        _post(o["url"], alert_id=aid, json_body={"content": text_of(alert, "md")[:2000],
                                                  "allowed_mentions": {"parse": []}})
    elif channel.type == "ntfy":
        headers = {"Title": f"tiewatch: {alert['kind']}", "Tags": "eyes"}
        if alert.get("view") or alert["evidence"]:
            headers["Click"] = alert.get("view") or alert["evidence"][0].get("url") or ""
        token = os.environ.get(str(o.get("token_env") or "TIEWATCH_NTFY_TOKEN"))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        _post(o["url"], alert_id=aid, content=text_of(alert).encode(), headers=headers)
    elif channel.type == "email":
        _mail(o, alert)
    elif channel.type == "log":
        path = Path(str(o["path"]))
        try:
            with path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(alert, ensure_ascii=False, default=str) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise DeliveryError(f"{path}: {e.strerror or e}") from None
    else:  # parse() admits only the types above
        raise DeliveryError(f"unknown channel type {channel.type}")


def _mail(o: dict[str, Any], alert: dict[str, Any]) -> None:
    msg = EmailMessage()
    msg["Subject"] = f"tiewatch {alert['kind']}: {alert['summary'][:120]}"
    msg["From"] = str(o["from"])
    to = o["to"] if isinstance(o["to"], list) else [o["to"]]
    msg["To"] = ", ".join(str(t) for t in to)
    msg["Message-ID"] = f"<{alert['id'].replace(':', '.')}@tiewatch>"
    msg.set_content(text_of(alert))
    user = os.environ.get(str(o.get("user_env") or "TIEWATCH_SMTP_USER"))
    password = os.environ.get(str(o.get("password_env") or "TIEWATCH_SMTP_PASSWORD"))
    try:
        with smtplib.SMTP(str(o["host"]), int(o.get("port", 587)), timeout=TIMEOUT) as smtp:
            if o.get("starttls", True):
                context = ssl.create_default_context()
                cafile = o.get("cafile")
                if cafile:
                    context.load_verify_locations(cafile=str(cafile))
                smtp.starttls(context=context)
            if user and password:
                smtp.login(user, password)
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as e:
        raise DeliveryError(f"SMTP {o['host']}: {type(e).__name__}: {e}") from None
