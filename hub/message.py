"""The canonical message: the envelope every part of the hub speaks (DESIGN.md)."""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


def canonical_json(value: Any) -> str:
    """One spelling per value, so equal bodies hash equal (idempotency checks)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Message:
    id: str
    type: str
    source: str
    payload: dict[str, Any]
    subject: str | None = None
    correlation_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    headers: dict[str, str] = field(default_factory=dict)

    def envelope(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "source": self.source, "subject": self.subject,
                "correlation_id": self.correlation_id, "created_at": self.created_at.isoformat(),
                "headers": dict(self.headers), "payload": self.payload}

    @classmethod
    def from_envelope(cls, env: dict[str, Any]) -> "Message":
        created = env.get("created_at")
        created_at = datetime.fromisoformat(created) if isinstance(created, str) else (created or utcnow())
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=timezone.utc)
        return cls(id=env["id"], type=env["type"], source=env["source"], payload=env.get("payload") or {},
                   subject=env.get("subject"), correlation_id=env.get("correlation_id"),
                   created_at=created_at, headers=dict(env.get("headers") or {}))


def body_digest(submitted: dict[str, Any]) -> str:
    """Digest of what the client submitted (less hub-made fields): same id + same digest = same message."""
    return hashlib.sha256(canonical_json(submitted).encode()).hexdigest()
