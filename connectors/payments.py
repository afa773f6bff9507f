"""What the payment intermediaries share (PayGov, VNPay, MoMo; VNPT Pay and VietinBank fit the same mould).

``payment.create`` (a call): remember the order in the store, open it with the intermediary, answer
``{payment_url, reference, provider_reference?}``. The callback (``/v1/inbound/<connector>``): verify the
checksum over what the partner sent, find the order, check the amount, record the result once, answer the
partner in its own format. A paid order becomes ``payment.completed`` with the id ``<provider>-<reference>``,
built from the stored row: a replayed callback yields the very same message, which the gateway's idempotency
makes one (and re-emitting it means a callback whose first ingestion failed is not lost).

Subclasses implement ``open_payment``, ``parse_callback``, ``answer`` and ``transactions`` in their partner's terms.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

from connectors.rest import HttpConnector
from hub import errors
from hub.contracts import Delivery, InboundMessage, InboundRequest, InboundResponse, Reply
from hub.errors import HubError, PermanentError
from hub.store.payments import (ALREADY_PAID, AMOUNT_MISMATCH, CONFIRMED, UNKNOWN, VIETNAM, PaymentOrder,
                                PaymentRepository, PaymentResult)

log = logging.getLogger("hub.payments")


@dataclass(frozen=True)
class Callback:
    """A verified callback, in the hub's terms."""
    reference: str
    result: PaymentResult
    description: str | None = None
    message: str | None = None
    pay_type: str | None = None
    transaction_status: str | None = None


@dataclass(frozen=True)
class PartnerTransaction:
    """One line of an intermediary's transaction list (for reconciliation)."""
    reference: str
    amount: int
    paid: bool
    transaction_id: str | None = None


class CallbackRefused(HubError):
    """A callback the hub will not act on; ``code`` is the hub's, the subclass maps it to the partner's."""


def vn_timestamp(value: datetime) -> str:
    """yyyyMMddHHmmss in Vietnam time (VNPay vnp_CreateDate, PayGov ThoiGianGD)."""
    return value.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def from_vn_timestamp(text: str) -> str:
    """RFC 3339 (+07:00) of a yyyyMMddHHmmss Vietnam-time stamp; CallbackRefused when it is not one."""
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=VIETNAM).isoformat()
    except (TypeError, ValueError):
        raise CallbackRefused(errors.PAY_BAD_CALLBACK, "transaction time is not yyyyMMddHHmmss") from None


def amount_of(text: Any, divisor: int = 1) -> int:
    try:
        value = int(str(text))
    except ValueError:
        raise CallbackRefused(errors.PAY_BAD_CALLBACK, "amount is not an integer") from None
    if value < 0 or value % divisor:
        raise CallbackRefused(errors.PAY_BAD_CALLBACK, "amount is not a whole number of VND")
    return value // divisor


class PaymentConnector(HttpConnector):
    provider: ClassVar[str] = ""
    capabilities = frozenset({"send", "call", "inbound"})

    _repo: PaymentRepository | None = None

    @property
    def repo(self) -> PaymentRepository:
        if self._repo is None:
            self._repo = PaymentRepository(self.context.store.engine)
        return self._repo

    # --- payment.create ---------------------------------------------------------------------------
    def send(self, delivery: Delivery) -> Reply:
        if delivery.message.type != "payment.create":
            raise PermanentError(errors.PAY_UNSUPPORTED, f"{self.name} takes payment.create, not {delivery.message.type}")
        payload = delivery.body if isinstance(delivery.body, dict) else delivery.message.payload
        self.repo.open_order(PaymentOrder(
            provider=self.provider, reference=payload["reference"], connector=self.name,
            dossier_code=payload["dossier_code"], agency_id=payload.get("agency_id"), amount=int(payload["amount"]),
            currency=payload.get("currency", "VND"), fees=list(payload.get("fees") or []),
            description=payload["description"], message_id=delivery.message.id))
        # the order is on record before the partner hears of it: a callback cannot outrun it
        opened = self.open_payment(payload, delivery)
        answer = {"payment_url": opened["payment_url"], "reference": payload["reference"]}
        if opened.get("provider_reference"):
            answer["provider_reference"] = opened["provider_reference"]
            self.repo.set_provider_reference(self.provider, payload["reference"], opened["provider_reference"])
        if opened.get("expires_at"):
            answer["expires_at"] = opened["expires_at"]
        return Reply(status=opened.get("status"), body=opened.get("body"), partner_ref=opened.get("provider_reference"),
                     payload=answer)

    def open_payment(self, payload: dict[str, Any], delivery: Delivery) -> dict[str, Any]:
        raise NotImplementedError

    # --- callbacks --------------------------------------------------------------------------------
    def inbound(self, request: InboundRequest) -> tuple[list[InboundMessage], InboundResponse]:
        try:
            callback = self.parse_callback(request)
            outcome, row = self.repo.record_result(self.provider, callback.reference, callback.result)
            if outcome == UNKNOWN:
                raise CallbackRefused(errors.PAY_ORDER_UNKNOWN, f"no {self.provider} order {callback.reference}")
            if outcome == AMOUNT_MISMATCH:
                raise CallbackRefused(errors.PAY_AMOUNT_MISMATCH, f"{self.provider} order {callback.reference}: "
                                      f"amount {callback.result.amount} differs from the order")
        except HubError as exc:   # checksum.* from hub.signing, or CallbackRefused
            if exc.code.startswith("hub."):   # the store is away: let the partner retry later
                raise
            log.warning("%s callback refused: [%s] %s", self.name, exc.code, exc.detail)
            return [], self.refuse(exc.code, request)
        messages = [self.completed(row, callback)] if row and (outcome in (CONFIRMED, ALREADY_PAID)) else []
        return messages, self.answer(outcome, callback, request)

    def completed(self, row: dict[str, Any], callback: Callback) -> InboundMessage:
        """payment.completed from the stored row only, so every replay of the callback yields the same message."""
        payload: dict[str, Any] = {
            "dossier_code": row["dossier_code"], "provider": self.provider, "reference": row["reference"],
            "amount": int(row["paid_amount"]), "currency": row["currency"], "paid": True,
            "result_code": row["result_code"], "completed_at": row["completed_at"],
            "description": row["description"]}
        for key, column in (("transaction_id", "transaction_id"), ("bank_code", "bank_code")):
            if row.get(column):
                payload[key] = row[column]
        fees = json.loads(row["fees"]) if row.get("fees") else []
        if fees:   # what the portal shows as paid (DanhSachLePhi) is the order's own list
            payload["fees"] = fees
        return InboundMessage(type="payment.completed", payload=payload, subject=row["dossier_code"],
                              id=f"{self.provider}-{row['reference']}", correlation_id=row["message_id"])

    def parse_callback(self, request: InboundRequest) -> Callback:
        raise NotImplementedError

    def answer(self, outcome: str, callback: Callback, request: InboundRequest) -> InboundResponse:
        raise NotImplementedError

    def refuse(self, code: str, request: InboundRequest) -> InboundResponse:
        raise NotImplementedError

    # --- reconciliation ---------------------------------------------------------------------------
    def transactions(self, day: date) -> list[PartnerTransaction]:
        """The intermediary's successful and failed transactions of one Vietnamese calendar day."""
        raise NotImplementedError
