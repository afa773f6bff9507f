"""VNPost orders the hub created (pickup of a dossier, delivery of a result) and every status heard for them.

``postal_orders`` keeps the last state APPLIED per order (it only moves forward); ``postal_statuses`` keeps
every status received, applied or not, so a late "in transit" after "delivered" is on record but changes nothing.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, String, Table

from hub.store.schema import metadata

postal_orders = Table(
    "postal_orders", metadata,
    Column("tracking_number", String(50), primary_key=True),    # itemCode
    Column("connector", String(40), nullable=False),
    Column("delivery_id", String(220), nullable=False, unique=True),   # one order per delivery, whatever the retries
    Column("order_id", String(50)),                             # orderHdrID
    Column("dossier_code", String(25), nullable=False),
    Column("flow", String(8), nullable=False),                  # pickup | deliver
    Column("status_code", Integer, nullable=False),
    Column("status_at", String(35)),
    Column("total_fee", BigInteger),
    Column("final", Boolean, nullable=False),                   # completed or cancelled: no more polling
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_postal_orders_open", "connector", "final"),
)

postal_statuses = Table(
    "postal_statuses", metadata,
    Column("tracking_number", String(50), primary_key=True),
    Column("status_code", Integer, primary_key=True),
    Column("at", String(35), primary_key=True),
    Column("status_name", String(200)),
    Column("applied", Boolean, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
