"""The hub's copy of the national procedure catalogue (CSDL TTHC), refreshed by `run.py procedures sync`."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, String, Table, Text

from hub.store.schema import metadata

procedures = Table(
    "procedures", metadata,
    Column("code", String(40), primary_key=True),                # MATTHC
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("record", Text, nullable=False),                      # canonical procedure.sync payload, JSON
    Column("synced_at", DateTime(timezone=True), nullable=False),
)
