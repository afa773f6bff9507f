"""What the dashboard reads from the store (and the audit log it writes). Plain SQLAlchemy Core, both engines.

Every query is bounded (a limit, a time window) and served by an index from hub/store/tables_ops.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, literal_column, select

from hub.logging import mask
from hub.message import utcnow
from hub.store import Store
from hub.store.repo import aware
from hub.store.schema import dead_letters, deliveries, messages
from hub.store.tables_ops import audit_log

STATES = ("pending", "in_flight", "retry_wait", "delivered", "dead")
PAGE = 50


@dataclass(frozen=True)
class SearchFilter:
    message_id: str = ""
    subject: str = ""
    agency: str = ""
    type: str = ""
    source: str = ""
    connector: str = ""
    state: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def empty(self) -> bool:
        return not any((self.message_id, self.subject, self.agency, self.type, self.source, self.connector,
                        self.state, self.since, self.until))


def search(store: Store, f: SearchFilter, limit: int = PAGE) -> list[dict[str, Any]]:
    """Newest first. With a connector or state the walk starts from deliveries (index connector, state,
    created_at), otherwise from messages (indexes on id, subject, agency_id, type, source, each with accepted_at)."""
    cols = (messages.c.id, messages.c.type, messages.c.source, messages.c.subject, messages.c.agency_id,
            messages.c.accepted_at)
    if f.message_id:
        q = select(*cols).where(messages.c.id == f.message_id)
    elif f.connector or f.state:
        q = (select(*cols).select_from(deliveries.join(messages, messages.c.id == deliveries.c.message_id))
             .order_by(deliveries.c.created_at.desc()).distinct())
        if f.connector:
            q = q.where(deliveries.c.connector == f.connector)
        if f.state:
            q = q.where(deliveries.c.state == f.state)
        if f.since:
            q = q.where(deliveries.c.created_at >= f.since)
        if f.until:
            q = q.where(deliveries.c.created_at < f.until)
        q = q.add_columns(deliveries.c.created_at)
    else:
        q = select(*cols).order_by(messages.c.accepted_at.desc())
        if f.since:
            q = q.where(messages.c.accepted_at >= f.since)
        if f.until:
            q = q.where(messages.c.accepted_at < f.until)
    if f.subject:
        q = q.where(messages.c.subject == f.subject)
    if f.agency:
        q = q.where(messages.c.agency_id == f.agency)
    if f.type:
        q = q.where(messages.c.type == f.type)
    if f.source:
        q = q.where(messages.c.source == f.source)
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q.limit(limit))]
        ids = [r["id"] for r in rows]
        states: dict[str, list[tuple[str, str]]] = {}
        if ids:
            for d in conn.execute(select(deliveries.c.message_id, deliveries.c.connector, deliveries.c.state)
                                  .where(deliveries.c.message_id.in_(ids))):
                states.setdefault(d.message_id, []).append((d.connector, d.state))
    seen, out = set(), []
    for r in rows:
        if r["id"] in seen:
            continue
        seen.add(r["id"])
        out.append({**r, "accepted_at": aware(r["accepted_at"]), "deliveries": sorted(states.get(r["id"], []))})
    return out


def _minute(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.date_trunc("minute", column)
    return func.strftime("%Y-%m-%d %H:%M", column)


def per_minute(store: Store, minutes: int = 60) -> dict[str, Any]:
    """Messages accepted per minute by type, and deliveries created per minute by their state now."""
    since = utcnow() - timedelta(minutes=minutes)
    dialect = store.engine.dialect.name
    m_bucket = _minute(messages.c.accepted_at, dialect).label("minute")
    d_bucket = _minute(deliveries.c.created_at, dialect).label("minute")
    with store.engine.connect() as conn:
        by_type = conn.execute(select(m_bucket, messages.c.type, func.count()).where(messages.c.accepted_at >= since)
                               .group_by(literal_column("minute"), messages.c.type)).all()
        by_state = conn.execute(select(d_bucket, deliveries.c.state, func.count())
                                .where(deliveries.c.created_at >= since)
                                .group_by(literal_column("minute"), deliveries.c.state)).all()
    return {"since": since, "by_type": [(_key(m), t, n) for m, t, n in by_type],
            "by_state": [(_key(m), s, n) for m, s, n in by_state]}


def _key(minute: Any) -> str:
    return minute.strftime("%Y-%m-%d %H:%M") if hasattr(minute, "strftime") else str(minute)[:16]


def dead_letter_groups(store: Store) -> list[dict[str, Any]]:
    q = (select(dead_letters.c.connector, dead_letters.c.code, func.count().label("n"),
                func.max(dead_letters.c.dead_at).label("last"))
         .join(deliveries, deliveries.c.id == dead_letters.c.delivery_id).where(deliveries.c.state == "dead")
         .group_by(dead_letters.c.connector, dead_letters.c.code).order_by(func.count().desc()))
    with store.engine.connect() as conn:
        return [{**dict(r._mapping), "last": aware(r.last)} for r in conn.execute(q)]


def dead_letters_matching(store: Store, connector: str = "", code: str = "", route: str = "",
                          limit: int = 500) -> list[dict[str, Any]]:
    rows = store.dead_letter_list(connector=connector or None, code=code or None, route=route or None, limit=limit)
    return [{**r, "dead_at": aware(r["dead_at"])} for r in rows]


def related(store: Store, subject: str | None, exclude: str, limit: int = 50) -> list[dict[str, Any]]:
    if not subject:
        return []
    q = (select(messages.c.id, messages.c.type, messages.c.accepted_at)
         .where(messages.c.subject == subject, messages.c.id != exclude)
         .order_by(messages.c.accepted_at.desc()).limit(limit))
    with store.engine.connect() as conn:
        return [{**dict(r._mapping), "accepted_at": aware(r.accepted_at)} for r in conn.execute(q)]


def record_audit(store: Store, actor: str, role: str, action: str, target: str = "", detail: str = "",
                 remote_addr: str | None = None) -> None:
    with store.engine.begin() as conn:
        # what was searched for or looked at may be a personal id or a phone number: kept masked, like logs
        conn.execute(insert(audit_log).values(at=utcnow(), actor=actor[:64], role=role[:16], action=action[:32],
                                              target=mask(target)[:300] or None, detail=mask(detail) or None,
                                              remote_addr=(remote_addr or "")[:64] or None))


def audit_entries(store: Store, actor: str = "", action: str = "", limit: int = 200) -> list[dict[str, Any]]:
    q = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if actor:
        q = q.where(audit_log.c.actor == actor)
    if action:
        q = q.where(audit_log.c.action == action)
    with store.engine.connect() as conn:
        return [{**dict(r._mapping), "at": aware(r.at)} for r in conn.execute(q)]
