"""MoMo v2 (partners.md §4): ``/v2/gateway/api/create`` opens a payment, a signed POST IPN confirms it.

Signatures are HMAC-SHA256 in MoMo's fixed field orders (hub.signing.checksums; accessKey from our config,
never from the IPN). ``requestId`` is derived from the delivery id, so a retried create is the same request
to MoMo. The IPN is answered with HTTP 204 once recorded (duplicates included); a refused one gets 400 with
the hub's code, which MoMo logs and the hub's operators can look up.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import date, datetime, timezone
from typing import Any

from connectors.payments import Callback, CallbackRefused, PartnerTransaction, PaymentConnector, amount_of
from hub import errors, registry
from hub.contracts import Delivery, InboundRequest, InboundResponse
from hub.errors import PermanentError, TransientError
from hub.signing.checksums import momo_canonical, momo_sign_create, momo_verify_ipn
from hub.store.payments import VIETNAM, PaymentResult

#: MoMo resultCodes worth retrying: system busy / maintenance / unknown error [I]
TRANSIENT_CODES = {10, 11, 99, 7000, 7002}
NAMESPACE = uuid.UUID("4f6d6f4d-0000-4000-8000-6c6773706875")
LIST_FIELDS = ("accessKey", "date", "partnerCode", "requestId")


def sign_list_request(request: dict[str, Any], access_key: str, secret_key: str) -> str:
    """HMAC-SHA256 of the transaction-list request, in MoMo's accessKey=..&.. style (the simulator checks it)."""
    canonical = momo_canonical(LIST_FIELDS, request, access_key)
    return hmac.new(secret_key.encode(), canonical.encode(), hashlib.sha256).hexdigest()


@registry.connectors.register("momo")
class MomoConnector(PaymentConnector):
    type_name = "momo"
    provider = "momo"
    config_schema = {
        "type": "object", "additionalProperties": False,
        "required": ["url", "partner_code", "access_key", "secret_key", "ipn_url", "redirect_url"],
        "properties": {
            "url": {"type": "string", "pattern": "^https?://"},
            "partner_code": {"type": "string", "minLength": 1},
            "access_key": {"type": "string", "minLength": 1},
            "secret_key": {"type": "string", "minLength": 8, "description": "(${env:...})"},
            "ipn_url": {"type": "string", "pattern": "^https?://", "description": "the hub's /v1/inbound/<name>"},
            "redirect_url": {"type": "string", "pattern": "^https?://"},
            "request_type": {"type": "string", "enum": ["captureWallet", "payWithATM", "payWithCC"]},
            "connect_timeout": {"type": "number"}, "health_path": {"type": "string"}}}

    def open_payment(self, payload: dict[str, Any], delivery: Delivery) -> dict[str, Any]:
        request: dict[str, Any] = {
            "partnerCode": self.options["partner_code"],
            "requestId": str(uuid.uuid5(NAMESPACE, delivery.idempotency_key)),   # same delivery, same request
            "amount": int(payload["amount"]), "orderId": payload["reference"], "orderInfo": payload["description"],
            "redirectUrl": payload.get("return_url") or self.options["redirect_url"],
            "ipnUrl": self.options["ipn_url"], "lang": "en" if payload.get("language") == "en" else "vi",
            "requestType": self.options.get("request_type", "captureWallet"),
            "extraData": payload.get("extra_data", ""), "autoCapture": True}
        request["signature"] = momo_sign_create(request, self.options["access_key"], self.options["secret_key"])
        response = self.post_json(f"{self.base_url}/v2/gateway/api/create", request)
        body = self.json_of(self.name, response)
        code = body.get("resultCode")
        if code != 0:
            kind = TransientError if code in TRANSIENT_CODES else PermanentError
            raise kind(errors.PAY_PROVIDER_REFUSED, f"{self.name}: resultCode {code} {str(body.get('message'))[:100]}")
        if not body.get("payUrl") or body.get("orderId") != payload["reference"]:
            raise PermanentError(errors.DLV_BAD_REPLY, f"{self.name}: answer without payUrl for this orderId")
        return {"payment_url": body["payUrl"], "status": response.status_code, "body": body}

    def parse_callback(self, request: InboundRequest) -> Callback:
        ipn = momo_verify_ipn(request.body, self.options["access_key"], self.options["secret_key"])
        if ipn.get("partnerCode") != self.options["partner_code"]:
            raise CallbackRefused(errors.PAY_BAD_CALLBACK, "IPN for another partnerCode")
        reference = ipn.get("orderId")
        if not isinstance(reference, str) or not reference:
            raise CallbackRefused(errors.PAY_BAD_CALLBACK, "orderId missing")
        try:
            at = datetime.fromtimestamp(int(ipn["responseTime"]) / 1000, timezone.utc).astimezone(VIETNAM)
        except (KeyError, TypeError, ValueError, OverflowError):
            raise CallbackRefused(errors.PAY_BAD_CALLBACK, "responseTime is not epoch milliseconds") from None
        result = PaymentResult(paid=ipn.get("resultCode") == 0, amount=amount_of(ipn.get("amount")),
                               result_code=str(ipn.get("resultCode")), completed_at=at.isoformat(timespec="seconds"),
                               transaction_id=str(ipn["transId"]) if ipn.get("transId") is not None else None)
        return Callback(reference, result, message=ipn.get("message"), pay_type=ipn.get("payType"))

    def answer(self, outcome: str, callback: Callback, request: InboundRequest) -> InboundResponse:
        return InboundResponse(204, b"", "text/plain")

    def refuse(self, code: str, request: InboundRequest) -> InboundResponse:
        spec = errors.lookup(code)
        body = {"code": code, "title": spec.title, "fix": spec.fix}
        return InboundResponse(400, json.dumps(body).encode(), "application/json")

    def transactions(self, day: date) -> list[PartnerTransaction]:
        """MoMo's transaction list of one day for this partnerCode [I: modelled like MoMo's query API]."""
        request = {"partnerCode": self.options["partner_code"], "requestId": uuid.uuid4().hex,
                   "date": day.strftime("%Y-%m-%d")}
        request["signature"] = sign_list_request(request, self.options["access_key"], self.options["secret_key"])
        body = self.json_of(self.name, self.post_json(f"{self.base_url}/v2/gateway/api/transactions", request))
        if body.get("resultCode") != 0:
            raise PermanentError(errors.PAY_RECONCILE_FAILED, f"{self.name}: resultCode {body.get('resultCode')}")
        return [PartnerTransaction(reference=t["orderId"], amount=int(t["amount"]), paid=t.get("resultCode") == 0,
                                   transaction_id=str(t.get("transId"))) for t in body.get("transactions", [])]
