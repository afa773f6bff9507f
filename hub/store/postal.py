"""VNPost orders: one per delivery, and a state that only moves forward.

Statuses arrive twice (webhook and poll) and late (a carrier's scanner syncs hours after the fact). Every
status is recorded once; it is APPLIED only when it moves the order forward in the lifecycle, so a late
"in transit" after "delivered" stays on record without turning a delivered parcel back into a travelling one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from hub.message import utcnow
from hub.store.repo import _Guard
from hub.store.tables_postal import postal_orders, postal_statuses

#: lifecycle rank of VNPost status codes (partners.md §5 [I]); 12 delivering and 15 delivery failed share a rank
#: so a new delivery attempt after a failure applies; codes not listed rank by their number among the early ones
RANK = {0: 0, 1: 1, 4: 2, 6: 3, 10: 4, 12: 5, 15: 5, 14: 6, 19: 7, 22: 8}
FINAL = frozenset({19, 22})


def rank(code: int) -> int:
    return RANK.get(code, 1)


def forward_move(final: bool, current: int, current_at: str | None, status: "Status") -> bool:
    """Later in the lifecycle, or a newer status of the same rank (a new delivery attempt after a failure)."""
    if final or status.code == current:
        return False
    if rank(status.code) != rank(current):
        return rank(status.code) > rank(current)
    return current_at is None or status.at >= current_at


@dataclass(frozen=True)
class Status:
    code: int
    at: str                   # RFC 3339
    name: str = ""


class PostalRepository:
    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def by_delivery(self, delivery_id: str) -> dict[str, Any] | None:
        with _Guard(self.engine) as conn:
            row = conn.execute(select(postal_orders).where(postal_orders.c.delivery_id == delivery_id)).mappings().first()
        return dict(row) if row else None

    def get(self, tracking: str) -> dict[str, Any] | None:
        with _Guard(self.engine) as conn:
            row = conn.execute(select(postal_orders).where(postal_orders.c.tracking_number == tracking)).mappings().first()
        return dict(row) if row else None

    def record_order(self, *, tracking: str, connector: str, delivery_id: str, order_id: str | None,
                     dossier_code: str, flow: str, status_code: int, total_fee: int | None) -> None:
        now = utcnow()
        try:
            with _Guard(self.engine) as conn:
                conn.execute(insert(postal_orders).values(
                    tracking_number=tracking, connector=connector, delivery_id=delivery_id, order_id=order_id,
                    dossier_code=dossier_code, flow=flow, status_code=status_code, total_fee=total_fee,
                    final=status_code in FINAL, created_at=now, updated_at=now))
        except IntegrityError:
            pass   # recorded by an earlier attempt of the same delivery

    def open_orders(self, connector: str, limit: int = 200) -> list[dict[str, Any]]:
        with _Guard(self.engine) as conn:
            rows = conn.execute(select(postal_orders).where(postal_orders.c.connector == connector,
                                                            postal_orders.c.final.is_(False)).limit(limit)).mappings().all()
        return [dict(r) for r in rows]

    def apply(self, tracking: str, status: Status) -> tuple[bool, bool]:
        """Record a status. Returns (new: first time heard, applied: it moved the order forward)."""
        return self.apply_all(tracking, [status])[0]

    def apply_all(self, tracking: str, statuses: list[Status]) -> list[tuple[bool, bool]]:
        """:meth:`apply` for each status in turn, in one transaction (a poll brings an order's whole history: one
        commit per order instead of one per status)."""
        with _Guard(self.engine) as conn:
            order = conn.execute(select(postal_orders).where(postal_orders.c.tracking_number == tracking)).mappings().first()
            if order is None:
                return [(False, False)] * len(statuses)
            final, current, current_at = bool(order["final"]), int(order["status_code"]), order["status_at"]
            outcomes = []
            for status in statuses:
                seen = conn.execute(select(postal_statuses.c.applied).where(
                    postal_statuses.c.tracking_number == tracking, postal_statuses.c.status_code == status.code,
                    postal_statuses.c.at == status.at)).first()
                if seen is not None:
                    outcomes.append((False, bool(seen.applied)))
                    continue
                forward = forward_move(final, current, current_at, status)
                conn.execute(insert(postal_statuses).values(tracking_number=tracking, status_code=status.code,
                                                            at=status.at, status_name=status.name[:200],
                                                            applied=forward, received_at=utcnow()))
                if forward:
                    final, current, current_at = status.code in FINAL, status.code, status.at
                    conn.execute(update(postal_orders).where(postal_orders.c.tracking_number == tracking).values(
                        status_code=current, status_at=current_at, final=final, updated_at=utcnow()))
                outcomes.append((True, forward))
            return outcomes

    def mark_cancelled(self, tracking: str) -> None:
        with _Guard(self.engine) as conn:
            conn.execute(update(postal_orders).where(postal_orders.c.tracking_number == tracking)
                         .values(status_code=22, final=True, updated_at=utcnow()))
