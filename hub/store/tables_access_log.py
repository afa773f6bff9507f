"""Who read which citizen's data, when and why (Decree 13/2023/NĐ-CP on personal data protection).

One row per identity check or lookup sent to the resident database, written *before* the partner is called
(no record, no lookup) and completed with the outcome afterwards. The citizen is stored as a keyed digest
(so the log answers "who looked up this person" without becoming a second copy of the ids) plus the masked
id for people reading the log.

The digest's key is a secret from ``HUB_ACCESS_LOG_KEY`` (comma-separated, newest first; the same on every hub
process). It must not be public: the masked id leaves six digits unknown, so with a known key a copy of the database
gives every id back in a million HMACs. The sandbox falls back to a fixed, public key and ``run.py check
--production`` refuses that. Digests cannot be re-keyed (the ids are not stored), so an old key stays listed after
the new one for as long as rows written with it are kept; lookups try every listed key.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Engine, Index, Integer, String, Table, insert, select, update

from hub.message import utcnow
from hub.privacy import mask_id
from hub.store.schema import metadata

ENV_KEYS = "HUB_ACCESS_LOG_KEY"
#: The sandbox's key, public (it is in this file): `check --production` refuses to run with it.
SANDBOX_KEY = b"lgsp-hub/citizen-access-log/v1"

citizen_access_log = Table(
    "citizen_access_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("citizen_digest", String(64), nullable=False),
    Column("citizen_masked", String(16), nullable=False),
    Column("operation", String(16), nullable=False),        # verify | lookup
    Column("client", String(64), nullable=False),           # the one-stop system that asked
    Column("officer_id", String(50), nullable=False),
    Column("procedure_code", String(40), nullable=False),
    Column("dossier_code", String(25), nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("connector", String(40), nullable=False),
    Column("outcome", String(64), nullable=False),          # requested | match | no_match | found | not_found | <code>
    Index("ix_citizen_access_log_citizen", "citizen_digest", "at"),
    Index("ix_citizen_access_log_officer", "officer_id", "at"),
)


def digest_keys() -> list[bytes]:
    """The digest keys, newest first: HUB_ACCESS_LOG_KEY, else the sandbox key."""
    keys = [k.strip().encode() for k in os.environ.get(ENV_KEYS, "").split(",") if k.strip()]
    return keys or [SANDBOX_KEY]


def citizen_digest(citizen_id: str, key: bytes | None = None) -> str:
    return hmac.new(key or digest_keys()[0], citizen_id.encode(), hashlib.sha256).hexdigest()


class AccessLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, *, citizen_id: str, operation: str, client: str, officer_id: str, procedure_code: str,
               dossier_code: str, message_id: str, connector: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(insert(citizen_access_log).values(
                at=utcnow(), citizen_digest=citizen_digest(citizen_id), citizen_masked=mask_id(citizen_id),
                operation=operation, client=client[:64], officer_id=officer_id[:50], procedure_code=procedure_code[:40],
                dossier_code=dossier_code[:25], message_id=message_id[:128], connector=connector[:40],
                outcome="requested"))
            return int(result.inserted_primary_key[0])

    def outcome(self, entry: int, outcome: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(citizen_access_log).where(citizen_access_log.c.id == entry).values(outcome=outcome[:64]))

    def for_citizen(self, citizen_id: str, since: datetime | None = None, limit: int = 500) -> list[dict[str, Any]]:
        digests = [citizen_digest(citizen_id, key) for key in digest_keys()]
        query = select(citizen_access_log).where(citizen_access_log.c.citizen_digest.in_(digests))
        if since is not None:
            query = query.where(citizen_access_log.c.at >= since)
        query = query.order_by(citizen_access_log.c.at, citizen_access_log.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
