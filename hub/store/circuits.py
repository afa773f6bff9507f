"""Where breakers report their state changes and /readyz reads them (every process, one view)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select

from hub.message import utcnow
from hub.store.repo import PROCESS, Store, aware
from hub.store.tables_circuits import circuits


def report(store: Store, connector: str, state: str, failures: int) -> None:
    """Replace this process's row for the connector (delete + insert: the same on SQLite and PostgreSQL)."""
    with store._begin() as conn:  # noqa: SLF001 - the store's guarded transaction
        conn.execute(delete(circuits).where(circuits.c.connector == connector, circuits.c.process == PROCESS))
        conn.execute(insert(circuits).values(connector=connector, process=PROCESS, state=state, failures=failures,
                                             updated_at=utcnow()))


def not_closed(store: Store, max_age: float) -> dict[str, list[dict[str, Any]]]:
    """Breakers not closed, reported within ``max_age`` seconds (a process that died long ago no longer counts)."""
    since = utcnow() - timedelta(seconds=max_age)
    with store._begin() as conn:  # noqa: SLF001
        rows = conn.execute(select(circuits).where(circuits.c.state != "closed", circuits.c.updated_at >= since)).all()
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row.connector, []).append({"process": row.process, "state": row.state,
                                                    "failures": row.failures, "since": aware(row.updated_at).isoformat()})
    return found
