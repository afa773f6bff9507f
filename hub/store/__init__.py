"""The store: messages, deliveries, hops and dead letters (SQLAlchemy Core; SQLite or PostgreSQL)."""
import importlib as _importlib
import pkgutil as _pkgutil

from hub.store import schema as _schema

# Tables of other parts live in hub/store/tables_<topic>.py on the same MetaData; load them all so that
# migrations, the schema check and every query see one complete schema.
for _mod in _pkgutil.iter_modules(__path__):
    if _mod.name.startswith("tables_"):
        _importlib.import_module(f"hub.store.{_mod.name}")

from hub.store.repo import AcceptResult, ClaimedDelivery, DeliveryRef, HopRecord, Outcome, Store

__all__ = ["Store", "AcceptResult", "ClaimedDelivery", "DeliveryRef", "HopRecord", "Outcome"]
