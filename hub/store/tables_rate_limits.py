"""Rate-limit windows shared by every hub process (hub/store/rate_limits.py)."""
from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table

from hub.store.schema import metadata

rate_limits = Table(
    "rate_limits", metadata,
    Column("scope", String(40), primary_key=True),        # which limit (the connector's name)
    Column("subject", String(64), primary_key=True),      # what is limited (a phone number)
    Column("window_start", Float, nullable=False),        # epoch seconds of the window's first event
    Column("hits", Integer, nullable=False),
    Index("ix_rate_limits_window", "window_start"),
)
