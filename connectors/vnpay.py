"""VNPay 2.1.0 (partners.md §4): a signed redirect URL to open a payment, a signed GET IPN to confirm it.

Opening a payment makes no call: the URL is built and signed (HMAC-SHA512, hub.signing.checksums) here and
the payer's browser takes it to VNPay. The IPN is verified over the raw query string; the reply is VNPay's
``{"RspCode", "Message"}``: 00 confirmed, 01 order not found, 02 already confirmed, 04 invalid amount,
97 bad checksum, 99 anything else. VNPay keeps calling until it reads one of these, so every answer is 200.
"""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

from connectors.payments import (Callback, CallbackRefused, PartnerTransaction, PaymentConnector, amount_of,
                                 from_vn_timestamp, vn_timestamp)
from hub import errors, registry
from hub.contracts import Delivery, InboundRequest, InboundResponse
from hub.errors import PermanentError
from hub.message import utcnow
from hub.signing.checksums import vnpay_canonical, vnpay_sign, vnpay_verify_query
from hub.store.payments import ALREADY_PAID, CONFIRMED, FAILED, PaymentResult
from hub.text import strip_diacritics

RSP = {CONFIRMED: ("00", "Confirm Success"), FAILED: ("00", "Confirm Success"), ALREADY_PAID: ("02", "Order already confirmed"),
       errors.PAY_ORDER_UNKNOWN: ("01", "Order not found"), errors.PAY_AMOUNT_MISMATCH: ("04", "Invalid amount"),
       errors.CHECKSUM_MISMATCH: ("97", "Invalid signature"), errors.CHECKSUM_MISSING: ("97", "Invalid signature"),
       errors.CHECKSUM_MALFORMED: ("97", "Invalid signature")}
OTHER = ("99", "Unknow error")     # VNPay's own spelling in its reference code


@registry.connectors.register("vnpay")
class VnpayConnector(PaymentConnector):
    type_name = "vnpay"
    provider = "vnpay"
    config_schema = {
        "type": "object", "additionalProperties": False, "required": ["url", "tmn_code", "secret", "return_url"],
        "properties": {
            "url": {"type": "string", "pattern": "^https?://", "description": "payment page and merchant API base"},
            "tmn_code": {"type": "string", "minLength": 1, "maxLength": 8},
            "secret": {"type": "string", "minLength": 8, "description": "vnp_HashSecret (${env:...})"},
            "return_url": {"type": "string", "pattern": "^https?://"},
            "order_type": {"type": "string"}, "expire_minutes": {"type": "integer", "minimum": 1},
            "connect_timeout": {"type": "number"}, "health_path": {"type": "string"}}}

    def payment_params(self, payload: dict[str, Any], created: datetime) -> dict[str, str]:
        params = {
            "vnp_Version": "2.1.0", "vnp_Command": "pay", "vnp_TmnCode": self.options["tmn_code"],
            "vnp_Amount": str(int(payload["amount"]) * 100), "vnp_CurrCode": "VND", "vnp_TxnRef": payload["reference"],
            # VNPay asks for Vietnamese without diacritics in vnp_OrderInfo
            "vnp_OrderInfo": ascii_text(payload["description"]),
            "vnp_OrderType": payload.get("order_type") or self.options.get("order_type", "other"),
            "vnp_Locale": "en" if payload.get("language") == "en" else "vn",
            "vnp_ReturnUrl": payload.get("return_url") or self.options["return_url"],
            "vnp_IpAddr": payload.get("payer_ip") or "127.0.0.1",
            "vnp_CreateDate": vn_timestamp(created),
            "vnp_ExpireDate": vn_timestamp(created + timedelta(minutes=int(self.options.get("expire_minutes", 15))))}
        if payload.get("bank_code"):
            params["vnp_BankCode"] = payload["bank_code"]
        return params

    def open_payment(self, payload: dict[str, Any], delivery: Delivery) -> dict[str, Any]:
        created = datetime.fromisoformat(payload["created_at"].upper()) if payload.get("created_at") else utcnow()
        params = self.payment_params(payload, created)
        query = vnpay_canonical(params) + "&vnp_SecureHash=" + vnpay_sign(params, self.options["secret"])
        return {"payment_url": f"{self.base_url}/paymentv2/vpcpay.html?{query}", "body": params,
                "expires_at": from_vn_timestamp(params["vnp_ExpireDate"])}

    def parse_callback(self, request: InboundRequest) -> Callback:
        raw = request.raw_query or "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in request.query.items())
        params = vnpay_verify_query(raw, self.options["secret"])
        if params.get("vnp_TmnCode") != self.options["tmn_code"]:
            raise CallbackRefused(errors.PAY_BAD_CALLBACK, "IPN for another vnp_TmnCode")
        reference = params.get("vnp_TxnRef") or ""
        if not reference:
            raise CallbackRefused(errors.PAY_BAD_CALLBACK, "vnp_TxnRef missing")
        paid = params.get("vnp_ResponseCode") == "00" and params.get("vnp_TransactionStatus") == "00"
        result = PaymentResult(paid=paid, amount=amount_of(params.get("vnp_Amount"), 100),
                               result_code=params.get("vnp_ResponseCode") or "99",
                               completed_at=from_vn_timestamp(params.get("vnp_PayDate")),
                               transaction_id=params.get("vnp_TransactionNo") or None,
                               bank_code=params.get("vnp_BankCode") or None)
        return Callback(reference, result, transaction_status=params.get("vnp_TransactionStatus"))

    def answer(self, outcome: str, callback: Callback, request: InboundRequest) -> InboundResponse:
        return _rsp(*RSP.get(outcome, OTHER))

    def refuse(self, code: str, request: InboundRequest) -> InboundResponse:
        return _rsp(*RSP.get(code, OTHER))

    def transactions(self, day: date) -> list[PartnerTransaction]:
        """The merchant's transaction list of one day (VNPay's merchant API; request signed like a payment)."""
        params = {"vnp_RequestId": uuid.uuid4().hex, "vnp_Version": "2.1.0", "vnp_Command": "translist",
                  "vnp_TmnCode": self.options["tmn_code"], "vnp_TransDate": day.strftime("%Y%m%d"),
                  "vnp_CreateDate": vn_timestamp(utcnow()), "vnp_IpAddr": "127.0.0.1"}
        params["vnp_SecureHash"] = vnpay_sign(params, self.options["secret"])
        body = self.json_of(self.name, self.post_json(f"{self.base_url}/merchant_webapi/api/transaction", params))
        if body.get("vnp_ResponseCode") != "00":
            raise PermanentError(errors.PAY_RECONCILE_FAILED, f"{self.name}: vnp_ResponseCode {body.get('vnp_ResponseCode')}")
        return [PartnerTransaction(reference=t["vnp_TxnRef"], amount=int(t["vnp_Amount"]) // 100,
                                   paid=t.get("vnp_TransactionStatus") == "00", transaction_id=t.get("vnp_TransactionNo"))
                for t in body.get("transactions", [])]


def ascii_text(text: str) -> str:
    """VNPay wants vnp_OrderInfo in Vietnamese without diacritics and without special characters."""
    return " ".join("".join(c if c.isascii() else " " for c in strip_diacritics(text)).split())


def _rsp(code: str, message: str) -> InboundResponse:
    return InboundResponse(200, json.dumps({"RspCode": code, "Message": message}).encode())
