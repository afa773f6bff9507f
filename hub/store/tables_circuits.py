"""Circuit breaker states reported by every hub process, so /readyz on the gateway shows what the workers see."""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, String, Table

from hub.store.schema import metadata

circuits = Table(
    "connector_circuits", metadata,
    Column("connector", String(40), primary_key=True),
    Column("process", String(64), primary_key=True),
    Column("state", String(16), nullable=False),        # closed | open | half_open
    Column("failures", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
