"""Payment orders: what the hub asked an intermediary to collect, and what a verified callback confirmed.

Callbacks come back more than once and out of order (partners retry until they get their answer), so every
write here is idempotent: opening the same order twice returns the first row, a success is recorded once
(``paid`` is final: a late failure notice after it changes nothing), and the caller learns which case it hit.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from hub import errors
from hub.errors import PermanentError
from hub.message import utcnow
from hub.store.repo import _Guard
from hub.store.tables_payments import payments

VIETNAM = timezone(timedelta(hours=7))   # intermediaries settle by the Vietnamese calendar day


@dataclass(frozen=True)
class PaymentOrder:
    provider: str
    reference: str
    connector: str
    dossier_code: str
    amount: int
    description: str
    message_id: str
    agency_id: str | None = None
    currency: str = "VND"
    fees: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class PaymentResult:
    """What a verified callback says about one order."""
    paid: bool
    amount: int
    result_code: str
    completed_at: str                 # RFC 3339 with offset
    transaction_id: str | None = None
    bank_code: str | None = None


#: outcomes of record_result
CONFIRMED, ALREADY_PAID, FAILED, UNKNOWN, AMOUNT_MISMATCH = "confirmed", "already_paid", "failed", "unknown", "amount_mismatch"


def business_date(completed_at: str) -> date:
    return datetime.fromisoformat(completed_at.upper()).astimezone(VIETNAM).date()


class PaymentRepository:
    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def open_order(self, order: PaymentOrder) -> dict[str, Any]:
        """Record the order; the same order again (a retried delivery) returns the first row."""
        now = utcnow()
        row = {"provider": order.provider, "reference": order.reference, "connector": order.connector,
               "dossier_code": order.dossier_code, "agency_id": order.agency_id, "amount": order.amount,
               "currency": order.currency, "fees": json.dumps(order.fees, ensure_ascii=False),
               "description": order.description, "message_id": order.message_id, "state": "created",
               "created_at": now, "updated_at": now}
        try:
            with _Guard(self.engine) as conn:
                conn.execute(insert(payments).values(**row))
            return row
        except IntegrityError:
            existing = self.get(order.provider, order.reference)
            if existing is None or existing["dossier_code"] != order.dossier_code or existing["amount"] != order.amount:
                raise PermanentError(errors.PAY_REFERENCE_REUSED,
                                     f"{order.provider} reference {order.reference} already names another order") from None
            return existing

    def set_provider_reference(self, provider: str, reference: str, value: str) -> None:
        with _Guard(self.engine) as conn:
            conn.execute(update(payments).where(payments.c.provider == provider, payments.c.reference == reference)
                         .values(provider_reference=value, updated_at=utcnow()))

    def get(self, provider: str, reference: str) -> dict[str, Any] | None:
        with _Guard(self.engine) as conn:
            row = conn.execute(select(payments).where(payments.c.provider == provider,
                                                      payments.c.reference == reference)).mappings().first()
        return dict(row) if row else None

    def record_result(self, provider: str, reference: str, result: PaymentResult) -> tuple[str, dict[str, Any] | None]:
        """Apply a verified callback once. Returns (outcome, the row as it is now)."""
        with _Guard(self.engine) as conn:
            key = (payments.c.provider == provider, payments.c.reference == reference)
            row = conn.execute(select(payments).where(*key)).mappings().first()
            if row is None:
                return UNKNOWN, None
            if int(row["amount"]) != result.amount:
                return AMOUNT_MISMATCH, dict(row)
            if row["state"] == "paid":
                return ALREADY_PAID, dict(row)
            values: dict[str, Any] = {"result_code": result.result_code, "updated_at": utcnow(),
                                      "completed_at": result.completed_at, "transaction_id": result.transaction_id,
                                      "bank_code": result.bank_code}
            if result.paid:
                values.update(state="paid", paid_amount=result.amount, business_date=business_date(result.completed_at))
            else:
                values.update(state="failed")
            # "state != paid" makes a concurrent duplicate lose the race instead of writing twice
            done = conn.execute(update(payments).where(*key, payments.c.state != "paid").values(**values))
            if done.rowcount == 0:
                return ALREADY_PAID, dict(row)
            return (CONFIRMED if result.paid else FAILED), {**dict(row), **values}

    def paid_on(self, provider: str, day: date) -> list[dict[str, Any]]:
        with _Guard(self.engine) as conn:
            rows = conn.execute(select(payments).where(payments.c.provider == provider, payments.c.state == "paid",
                                                       payments.c.business_date == day)).mappings().all()
        return [dict(r) for r in rows]

    def orders(self, provider: str, references: list[str]) -> dict[str, dict[str, Any]]:
        if not references:
            return {}
        with _Guard(self.engine) as conn:
            rows = conn.execute(select(payments).where(payments.c.provider == provider,
                                                       payments.c.reference.in_(references))).mappings().all()
        return {r["reference"]: dict(r) for r in rows}
