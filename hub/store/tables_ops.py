"""Operator tools: the audit log of dashboard actions, and the indexes the dashboard's search needs.

The search must answer in well under 200 ms on millions of messages (bench/search.py measures it), so every
filter it offers is served by an index that also gives the order (newest first) without a sort of the whole
table: the dossier code, agency, message type, source and time range on ``messages``; connector and state (with
time) on ``deliveries``.
"""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text

from hub.store.schema import deliveries, messages, metadata

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),         # operator user name (never a citizen's data)
    Column("role", String(16), nullable=False),
    Column("action", String(32), nullable=False),        # login login_failed logout search view replay ...
    Column("target", String(300)),                       # message / delivery id, or the filter replayed
    Column("detail", Text),
    Column("remote_addr", String(64)),
    Index("ix_audit_at", "at"),
    Index("ix_audit_actor_at", "actor", "at"),
)

# Search indexes on the core tables (added by migration 0008_ops, not by 0001).
Index("ix_messages_source_accepted", messages.c.source, messages.c.accepted_at)
Index("ix_messages_subject_accepted", messages.c.subject, messages.c.accepted_at)
Index("ix_deliveries_connector_state_created", deliveries.c.connector, deliveries.c.state, deliveries.c.created_at)
Index("ix_deliveries_state_created", deliveries.c.state, deliveries.c.created_at)
Index("ix_deliveries_created", deliveries.c.created_at)
# Search by agency (migration 0010_message_agency): the agency id of the message's dossier code, newest first.
Index("ix_messages_agency_accepted", messages.c.agency_id, messages.c.accepted_at)
