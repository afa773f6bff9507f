"""The store's tables (SQLAlchemy Core). One schema for SQLite and PostgreSQL; changes go through migrations."""
from __future__ import annotations

from sqlalchemy import (Column, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text)

metadata = MetaData()

messages = Table(
    "messages", metadata,
    Column("id", String(128), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("subject", String(128)),
    Column("correlation_id", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False),
    Column("digest", String(64), nullable=False),        # sha256 of what the client sent: idempotency check
    Column("envelope", Text, nullable=False),            # canonical JSON of the whole message
    Column("agency_id", String(13)),                     # agency of its dossier code (migration 0010), for search
    Index("ix_messages_subject", "subject"),
    Index("ix_messages_type_accepted", "type", "accepted_at"),
    Index("ix_messages_accepted", "accepted_at"),
)

deliveries = Table(
    "deliveries", metadata,
    Column("id", String(220), primary_key=True),         # <message id>/<route>: stable idempotency key
    Column("message_id", String(128), ForeignKey("messages.id"), nullable=False),
    Column("route", String(80), nullable=False),
    Column("connector", String(40), nullable=False),
    Column("state", String(16), nullable=False),         # pending in_flight retry_wait delivered dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("lease_until", DateTime(timezone=True)),      # an in_flight attempt past this is presumed dead
    Column("window_start", DateTime(timezone=True), nullable=False),  # retry max_age counts from here (reset on replay)
    Column("last_code", String(64)),
    Column("last_error", Text),
    Column("reply", Text),                               # canonical answer for calls, partner reference otherwise
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Index("ix_deliveries_message", "message_id"),
    Index("ix_deliveries_state_next", "state", "next_attempt_at"),
    Index("ix_deliveries_connector_state", "connector", "state"),
)

hops = Table(
    "hops", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(128), nullable=False),
    Column("delivery_id", String(220)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=False),          # received validated routed attempt transformed signed sent ...
    Column("duration_ms", Float),
    Column("code", String(64)),
    Column("detail", Text),
    Column("process", String(64)),                       # which hub process did it (host:pid)
    Index("ix_hops_message", "message_id", "id"),
)

dead_letters = Table(
    "dead_letters", metadata,
    Column("delivery_id", String(220), ForeignKey("deliveries.id"), primary_key=True),
    Column("message_id", String(128), nullable=False),
    Column("route", String(80), nullable=False),
    Column("connector", String(40), nullable=False),
    Column("code", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("dead_at", DateTime(timezone=True), nullable=False),
    Column("replayed_at", DateTime(timezone=True)),
    Column("replay_count", Integer, nullable=False, default=0),
    Index("ix_dead_letters_connector_at", "connector", "dead_at"),
    Index("ix_dead_letters_code", "code"),
)
