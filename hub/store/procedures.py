"""The hub's copy of the procedure catalogue (table in hub/store/tables_procedures.py).

Records are canonical ``procedure.sync`` payloads (schemas/messages/procedure.sync.json). :class:`CachedCatalogue`
keeps them in memory for the ``check_procedure`` step, reloaded at most every ``ttl`` seconds: a route step must
not cost a database read per message.
"""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import delete, func, insert, select

from hub.message import canonical_json, utcnow
from hub.store.repo import Store, aware
from hub.store.tables_procedures import procedures


def replace_all(store: Store, records: Iterable[dict[str, Any]]) -> int:
    """The catalogue as the national database has it now, in one transaction (withdrawn codes disappear)."""
    now = utcnow()
    rows = [{"code": r["procedure_code"], "name": r["name"], "active": bool(r["active"]),
             "record": canonical_json(r), "synced_at": now} for r in records]
    with store._begin() as conn:
        conn.execute(delete(procedures))
        if rows:
            conn.execute(insert(procedures), rows)
    return len(rows)


def get(store: Store, code: str) -> dict[str, Any] | None:
    with store._begin() as conn:
        row = conn.execute(select(procedures.c.record).where(procedures.c.code == code)).first()
    return json.loads(row.record) if row else None


def last_synced(store: Store) -> datetime | None:
    """When the copy was last replaced (by any process sharing the store), or None when it never was."""
    with store._begin() as conn:
        return aware(conn.execute(select(func.max(procedures.c.synced_at))).scalar_one())


def count(store: Store) -> int:
    with store._begin() as conn:
        return int(conn.execute(select(func.count()).select_from(procedures)).scalar_one())


def load_all(store: Store) -> dict[str, dict[str, Any]]:
    with store._begin() as conn:
        return {code: json.loads(record) for code, record in conn.execute(select(procedures.c.code, procedures.c.record))}


class CachedCatalogue:
    def __init__(self, store: Store, ttl: float = 60.0) -> None:
        self.store, self.ttl = store, ttl
        self._records: dict[str, dict[str, Any]] = {}
        self._loaded = float("-inf")
        self._lock = threading.Lock()

    def get(self, code: str) -> dict[str, Any] | None:
        with self._lock:
            if time.monotonic() - self._loaded > self.ttl:
                self._records = load_all(self.store)
                self._loaded = time.monotonic()
            return self._records.get(code)

    def empty(self) -> bool:
        with self._lock:
            return not self._records

    def invalidate(self) -> None:
        """After a sync in this process: the next look-up reloads."""
        with self._lock:
            self._loaded = float("-inf")


_installed: CachedCatalogue | None = None


def install(catalogue: CachedCatalogue | None) -> None:
    """The hub runtime installs its store's catalogue for route steps (steps get no store of their own)."""
    global _installed
    _installed = catalogue


def installed() -> CachedCatalogue | None:
    return _installed
