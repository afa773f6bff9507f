"""MoMo v2 sandbox: create (signature checked, idempotent on requestId), the pay page, signed POST IPNs,
a transaction list per day.

* ``POST /v2/gateway/api/create`` -> ``{resultCode: 0, payUrl, ...}``; 11 bad signature / unknown partner,
  22 amount out of range (1,000..50,000,000 VND), 41 orderId already used by another request;
* ``GET /pay?orderId=`` -> the payment page;
* ``POST /v2/gateway/api/transactions`` ``{partnerCode, requestId, date, signature}`` -> ``{resultCode: 0, transactions}``;
* control endpoints: see simulators/_payments.py. The IPN goes to the order's ``ipnUrl`` unless ``/_config`` set one.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from connectors.momo import sign_list_request
from hub import registry
from hub.signing.checksums import momo_sign_create, momo_sign_ipn
from simulators._payments import Ipn, PaymentSimulator, Txn
from simulators.base import json_response

SECRET_ENV, SECRET_DEFAULT = "HUB_MOMO_SECRET", "sandbox-momo-secret-key"
PARTNER_CODE, ACCESS_KEY = "MOMOLGSP2024", "sandbox-momo-access"


class MomoSimulator(PaymentSimulator):
    secret_env, secret_default, prefix = SECRET_ENV, SECRET_DEFAULT, "4"

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.partner_code = self.options.get("partner_code", PARTNER_CODE)
        self.access_key = os.environ.get("HUB_MOMO_ACCESS_KEY", ACCESS_KEY)
        self.requests: dict[str, dict[str, Any]] = {}
        self.route("POST", "/v2/gateway/api/create", self.create)
        self.route("GET", "/pay", self.pay_page)
        self.route("POST", "/v2/gateway/api/transactions", self.transactions)

    def create(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return json_response({"resultCode": 20, "message": "Bad format request."}, 400)
        signed = {k: body.get(k) for k in body}
        if body.get("partnerCode") != self.partner_code or not isinstance(body.get("signature"), str) or \
                momo_sign_create(signed, self.access_key, self.secret) != body["signature"].lower():
            return json_response(self._answer(body, 11, "Access denied."))
        with self.lock:
            earlier = self.requests.get(str(body.get("requestId")))
        if earlier is not None:                       # the same request again: the same answer
            return json_response(earlier)
        amount = body.get("amount")
        if not isinstance(amount, int) or not 1000 <= amount <= 50_000_000:
            return json_response(self._answer(body, 22, "Số tiền giao dịch không hợp lệ."))
        reference = str(body.get("orderId"))
        if reference in self.orders:
            return json_response(self._answer(body, 41, "OrderId đã tồn tại."))
        self.remember(reference, {"reference": reference, "amount": amount, "request_id": body["requestId"],
                                  "info": body.get("orderInfo", ""), "extra": body.get("extraData", ""),
                                  "ipn_url": body.get("ipnUrl")})
        answer = self._answer(body, 0, "Thành công.")
        answer["payUrl"] = f"{request.url_root}pay?orderId={reference}"
        with self.lock:
            self.requests[str(body["requestId"])] = answer
        return json_response(answer)

    @staticmethod
    def _answer(body: dict[str, Any], code: int, message: str) -> dict[str, Any]:
        return {"partnerCode": body.get("partnerCode"), "requestId": body.get("requestId"),
                "orderId": body.get("orderId"), "amount": body.get("amount"),
                "responseTime": int(time.time() * 1000), "message": message, "resultCode": code}

    def pay_page(self, request: Request) -> Response:
        order = self.orders.get(request.args.get("orderId", ""))
        if order is None:
            return Response("Đơn hàng không tồn tại", status=404, content_type="text/plain; charset=utf-8")
        return Response(f"MoMo: thanh toán {order['amount']} VND", content_type="text/plain; charset=utf-8")

    def ipn_target(self, order: dict[str, Any]) -> str | None:
        return self.ipn_url or order.get("ipn_url")

    def build_ipn(self, order: dict[str, Any], txn: Txn, secret: str) -> Ipn:
        ipn: dict[str, Any] = {
            "partnerCode": self.partner_code, "orderId": txn.reference, "requestId": order["request_id"],
            "amount": txn.amount, "orderInfo": order["info"], "orderType": "momo_wallet",
            "transId": int(txn.transaction_id), "resultCode": 0 if txn.paid else 1006,
            "message": "Thành công." if txn.paid else "Giao dịch bị từ chối bởi người dùng.", "payType": "qr",
            "responseTime": int(txn.at.timestamp() * 1000), "extraData": order["extra"]}
        ipn["signature"] = momo_sign_ipn(ipn, self.access_key, secret)
        return Ipn("POST", body=json.dumps(ipn, ensure_ascii=False).encode("utf-8"))

    def transactions(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        try:
            valid = sign_list_request(body, self.access_key, self.secret) == str(body.get("signature", "")).lower()
        except Exception:  # noqa: BLE001 - a field missing from the signed string is a bad request
            valid = False
        if not valid or body.get("partnerCode") != self.partner_code:
            return json_response({"resultCode": 11, "message": "Access denied."})
        txns = [{"orderId": t.reference, "amount": t.amount, "transId": int(t.transaction_id),
                 "resultCode": 0 if t.paid else 1006, "responseTime": int(t.at.timestamp() * 1000)}
                for t in self.day_transactions(str(body.get("date")))]
        return json_response({"resultCode": 0, "message": "Thành công.", "transactions": txns})


registry.simulators.register("momo")(MomoSimulator)
