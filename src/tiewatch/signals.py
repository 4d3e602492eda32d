"""Reading stored signals back: filters, ordering and the JSON shape every front end uses."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tiewatch.accounts import resolve
from tiewatch.store import Store
from tiewatch.timefmt import iso

SIGNAL_KEYS = ("id", "kind", "ts", "start", "end", "subjects", "score", "p_value", "q_value", "evidence",
               "summary", "detail")
KINDS = ("silence", "resumption", "follow", "unfollow", "audience_drop", "audience_surge", "coincidence",
         "unlike", "post_deleted", "profile_change")


def list_signals(store: Store, *, kind: str | None = None, account: str | None = None,
                 since: datetime | None = None, until: datetime | None = None,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """Signals as JSON-ready dicts, tested ones first by q-value, then by score."""
    where: list[str] = ["TRUE"]
    params: list[object] = []
    if kind:
        where.append("kind = ?")
        params.append(kind)
    if account:
        acc = resolve(store, account)
        where.append("list_contains(subjects, ?) AND (platform = ? OR platform IS NULL)")
        params += [acc.account, acc.platform]
    if since:
        where.append("coalesce(ts, start) >= ?")
        params.append(since)
    if until:
        where.append("coalesce(ts, start) < ?")
        params.append(until)
    sql = (f'SELECT id, kind, ts, start, "end", subjects, score, p_value, q_value, evidence, summary, detail '
           f"FROM signals WHERE {' AND '.join(where)} "
           "ORDER BY q_value IS NULL, q_value, score DESC, ts")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = store.con.execute(sql, params).fetchall()
    return [to_json(dict(zip(SIGNAL_KEYS, r, strict=True))) for r in rows]


def to_json(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for k in ("ts", "start", "end"):
        out[k] = iso(out[k])
    out["detail"] = json.loads(out["detail"]) if out["detail"] else {}
    out["subjects"] = list(out["subjects"] or [])
    out["evidence"] = list(out["evidence"] or [])
    return out
