"""A message's journey as a readable timeline (``python run.py trace``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def format_timeline(view: dict[str, Any]) -> str:
    hops = view["hops"]
    start = _ts(hops[0]["at"]) if hops else _ts(view["accepted_at"])
    lines = [f"message {view['id']}  type {view['type']}  from {view['source']}"
             + (f"  subject {view['subject']}" if view.get("subject") else ""),
             f"  accepted {view['accepted_at']}   state: {view['state']}", ""]
    width = max((len(h["kind"]) for h in hops), default=8)
    for hop in hops:
        offset = (_ts(hop["at"]) - start).total_seconds() * 1000 if start else 0.0
        took = f" ({hop['duration_ms']:.1f} ms)" if hop.get("duration_ms") is not None else ""
        where = f" [{hop['delivery'].rsplit('/', 1)[-1]}]" if hop.get("delivery") else ""
        code = f" {hop['code']}" if hop.get("code") else ""
        detail = f" {hop['detail']}" if hop.get("detail") else ""
        lines.append(f"  +{offset:>10.1f} ms  {hop['kind']:<{width}}{where}{code}{detail}{took}")
    lines.append("")
    for d in view["deliveries"]:
        extra = f", last {d['last_code']}: {d['last_error']}" if d.get("last_code") else ""
        retry = f", next attempt {d['next_attempt_at']}" if d["state"] == "retry_wait" else ""
        lines.append(f"  route {d['route']} -> {d['connector']}: {d['state']} after {d['attempts']} attempt(s){retry}{extra}")
    return "\n".join(lines)
