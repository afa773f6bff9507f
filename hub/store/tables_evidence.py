"""Signature evidence: for each ``signed`` / ``verified`` hop, the exact bytes that were signed and sent or received
and verified, the detached signature (JWS; XML-DSig is inside the bytes), the certificates and the trust anchors.

Written by ``Store._hops`` in the same transaction as the hop it backs; ``run.py evidence ID`` exports it.
``data`` is encrypted at rest like payloads (hub/store/codec.py): a signed document may hold a citizen's data.
"""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text

from hub.store.schema import metadata

signature_evidence = Table(
    "signature_evidence", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(128), nullable=False),
    Column("delivery_id", String(220)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(16), nullable=False),          # signed | verified
    Column("format", String(16), nullable=False),          # xmldsig | jws
    Column("sha256", String(64), nullable=False),          # of the exact bytes (also in the hop's detail)
    Column("data", Text, nullable=False),                  # codec-encoded base64 of the exact bytes
    Column("signature", Text),                             # detached JWS, or null
    Column("certificates", Text, nullable=False),          # PEM: signer's certificate first, then its chain
    Column("anchors", Text, nullable=False),               # PEM: the CAs / pinned certificates it was checked against
    Column("meta", Text, nullable=False),                  # JSON: key, algorithm, subject, serial, x5t, location, ...
    Index("ix_signature_evidence_message", "message_id", "id"),
)
