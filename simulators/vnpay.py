"""VNPay 2.1.0 sandbox: the payment page (signed redirect), signed GET IPNs, the merchant's transaction list.

* ``GET /paymentv2/vpcpay.html?vnp_...&vnp_SecureHash=`` -> the payment page (the order is remembered), or
  VNPay's error page (code 70, wrong signature; 71, unknown terminal; 94, duplicate order);
* ``POST /merchant_webapi/api/transaction`` ``{vnp_Command: "translist", vnp_TransDate: yyyyMMdd, ..., vnp_SecureHash}``
  -> ``{"vnp_ResponseCode": "00", "transactions": [...]}``;
* control endpoints: see simulators/_payments.py.
"""
from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from hub import registry
from hub.errors import HubError
from hub.signing.checksums import vnpay_canonical, vnpay_sign, vnpay_verify_query
from simulators._payments import Ipn, PaymentSimulator, Txn
from simulators.base import json_response

SECRET_ENV, SECRET_DEFAULT = "HUB_VNPAY_SECRET", "sandbox-vnpay-secret"
TMN_CODE = "LGSPHUB1"


class VnpaySimulator(PaymentSimulator):
    secret_env, secret_default, prefix = SECRET_ENV, SECRET_DEFAULT, "14"

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.tmn_code = self.options.get("tmn_code", TMN_CODE)
        self.route("GET", "/paymentv2/vpcpay.html", self.payment_page)
        self.route("POST", "/merchant_webapi/api/transaction", self.merchant_api)

    def payment_page(self, request: Request) -> Response:
        try:
            params = vnpay_verify_query(request.query_string, self.secret)
        except HubError:
            return _page("70", "Sai chữ ký (invalid signature)", 400)
        if params.get("vnp_TmnCode") != self.tmn_code:
            return _page("71", "Website không tồn tại (unknown terminal)", 400)
        reference = params.get("vnp_TxnRef", "")
        amount = int(params.get("vnp_Amount", "0")) // 100
        existing = self.orders.get(reference)
        if existing and existing["amount"] != amount:
            return _page("94", "Giao dịch trùng lặp (duplicate order)", 400)
        self.remember(reference, {"reference": reference, "amount": amount, "info": params.get("vnp_OrderInfo", ""),
                                  "bank_code": params.get("vnp_BankCode") or "NCB"})
        return _page("00", f"Thanh toán đơn hàng {reference}: {amount} VND", 200)

    def build_ipn(self, order: dict[str, Any], txn: Txn, secret: str) -> Ipn:
        params = {"vnp_TmnCode": self.tmn_code, "vnp_Amount": str(txn.amount * 100), "vnp_BankCode": order["bank_code"],
                  "vnp_BankTranNo": f"VNP{txn.transaction_id}", "vnp_CardType": "ATM",
                  "vnp_PayDate": txn.at.strftime("%Y%m%d%H%M%S"), "vnp_OrderInfo": order["info"],
                  "vnp_TransactionNo": txn.transaction_id, "vnp_ResponseCode": "00" if txn.paid else "24",
                  "vnp_TransactionStatus": "00" if txn.paid else "02", "vnp_TxnRef": txn.reference,
                  "vnp_SecureHashType": "HmacSHA512"}
        return Ipn("GET", query=vnpay_canonical(params) + "&vnp_SecureHash=" + vnpay_sign(params, secret))

    def merchant_api(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        given = str(body.get("vnp_SecureHash", ""))
        if vnpay_sign(body, self.secret) != given.lower():
            return json_response({"vnp_ResponseCode": "97", "vnp_Message": "Invalid checksum"})
        if body.get("vnp_Command") != "translist" or body.get("vnp_TmnCode") != self.tmn_code:
            return json_response({"vnp_ResponseCode": "02", "vnp_Message": "Merchant is not valid"})
        try:
            day = datetime.strptime(str(body.get("vnp_TransDate")), "%Y%m%d").strftime("%Y-%m-%d")
        except ValueError:
            return json_response({"vnp_ResponseCode": "03", "vnp_Message": "Invalid data format"})
        txns = [{"vnp_TxnRef": t.reference, "vnp_Amount": str(t.amount * 100), "vnp_TransactionNo": t.transaction_id,
                 "vnp_TransactionStatus": "00" if t.paid else "02", "vnp_PayDate": t.at.strftime("%Y%m%d%H%M%S")}
                for t in self.day_transactions(day)]
        return json_response({"vnp_ResponseCode": "00", "vnp_Message": "Success", "transactions": txns})


def _page(code: str, text: str, status: int) -> Response:
    page = f"<!doctype html><meta charset=utf-8><title>VNPAY</title><p data-code={code}>{html.escape(text)}</p>"
    return Response(page, status=status, content_type="text/html; charset=utf-8", headers={"X-Vnp-Code": code})


registry.simulators.register("vnpay")(VnpaySimulator)
