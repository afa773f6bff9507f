"""Writing and reading signature evidence rows (table in tables_evidence.py).

The exact bytes are base64 then codec-encoded (encrypted at rest); certificates and the JWS are public material
and stay readable. ``meta`` repeats the hop's evidence fields so an exported bundle is self-describing.
"""
from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import select

from hub.store.codec import Codec
from hub.store.tables_evidence import signature_evidence


def evidence_row(codec: Codec, message_id: str, hop: Any) -> dict[str, Any]:
    ev = hop.evidence
    meta = {"key": ev.key, "algorithm": ev.algorithm, "subject": ev.subject, "serial": ev.serial,
            "thumbprint": ev.thumbprint, "location": ev.location, "namespaces": dict(ev.namespaces)}
    return {"message_id": message_id, "delivery_id": hop.delivery_id, "at": hop.at, "action": ev.action,
            "format": ev.format, "sha256": ev.sha256,
            "data": codec.encode(base64.b64encode(ev.data).decode("ascii")), "signature": ev.signature,
            "certificates": "".join(ev.certificates), "anchors": "".join(ev.anchors),
            "meta": json.dumps(meta, ensure_ascii=False, sort_keys=True)}


def evidence_for(store: Any, message_id: str) -> list[dict[str, Any]]:
    """Every evidence record of one message, oldest first, with ``data`` decrypted back to bytes."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(signature_evidence).where(signature_evidence.c.message_id == message_id)
                            .order_by(signature_evidence.c.id)).all()
    out = []
    for row in rows:
        item = dict(row._mapping)
        item["data"] = base64.b64decode(store.codec.decode(item["data"]))
        item["meta"] = json.loads(item["meta"])
        out.append(item)
    return out
