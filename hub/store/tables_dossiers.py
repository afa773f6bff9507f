"""The latest known state of every dossier the hub synced, the lag of each sync.

``dossier_state`` holds one row per dossier: the newest status the national portal acknowledged and when the
one-stop system made it (``status_at``: freshness compares against it), who owns it, and the sync lag of that status.
``dossier_sync_lag`` keeps one row per acknowledged status change, for ``run.py stats sync-lag`` and the metric.
"""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, Integer, String, Table, Text

from hub.store.schema import metadata

dossier_state = Table(
    "dossier_state", metadata,
    Column("dossier_code", String(40), primary_key=True),
    Column("agency_id", String(13), nullable=False),
    Column("procedure_code", String(22)),
    Column("status", Integer, nullable=False),                   # DVCQG TrangThaiHoSo 1..10
    Column("status_at", DateTime(timezone=True), nullable=False),  # when the one-stop system made this state
    Column("message_id", String(128), nullable=False),           # the dossier.sync that carried it
    Column("accepted_at", DateTime(timezone=True), nullable=False),
    Column("synced_at", DateTime(timezone=True), nullable=False),  # when the portal acknowledged it
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_dossier_state_agency", "agency_id"),
)

dossier_sync_lag = Table(
    "dossier_sync_lag", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dossier_code", String(40), nullable=False),
    Column("agency_id", String(13), nullable=False),
    Column("status", Integer, nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True), nullable=False),
    Column("lag_ms", Float, nullable=False),
    Index("ix_dossier_sync_lag_agency_at", "agency_id", "acknowledged_at"),
    Index("ix_dossier_sync_lag_dossier", "dossier_code"),
)
