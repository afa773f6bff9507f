"""The store: messages, deliveries, hops and dead letters (SQLAlchemy Core; SQLite or PostgreSQL)."""
from hub.store.repo import AcceptResult, ClaimedDelivery, DeliveryRef, HopRecord, Outcome, Store

__all__ = ["Store", "AcceptResult", "ClaimedDelivery", "DeliveryRef", "HopRecord", "Outcome"]
