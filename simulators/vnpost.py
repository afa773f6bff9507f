"""MyVNPost sandbox: tokens that expire, orders, statuses that progress on a clock, webhooks, cancellation.

* ``POST /customer-partner/GetAccessToken`` ``{username, password, customerCode}`` -> ``{success, token}``;
* ``POST /customer-partner/CreateOrder`` (header ``token``; 401 when missing or expired) -> ``{orderHdrID, itemCode, status: 1, totalFee}``;
* ``POST /customer-partner/orderCancel`` ``{itemCode}`` -> ``{success}`` (refused once collected, status 6+);
* ``POST /customer-partner/GetStatusHistoryOrder`` ``{itemCode}`` -> ``{success, statusHistory: [...]}``: an order
  reaches the next status of 1 4 6 10 12 14 19 every ``step_seconds`` after its creation;
* control: ``POST /_config {"step_seconds", "token_ttl", "webhook_url", "webhook_token"}``;
  ``POST /_push {"itemCode", "statusCode", "minutes_ago": 0}`` sends one status to the webhook (a late one with
  minutes_ago); ``GET /_orders``; ``GET /_stats`` (tokens issued, orders created).
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from hub import registry
from simulators.base import SimulatorApp, json_response

VIETNAM = timezone(timedelta(hours=7))
LIFECYCLE = (1, 4, 6, 10, 12, 14, 19)
NAMES = {1: "Tạo đơn", 4: "Đang lấy hàng", 6: "Đã lấy hàng", 10: "Đang vận chuyển", 12: "Đang phát",
         14: "Phát thành công", 15: "Phát không thành công", 19: "Hoàn tất", 22: "Đã hủy"}
USERNAME, CUSTOMER = "lgsp-sandbox", "KH-LGSP-H20"
PASSWORD_ENV, PASSWORD_DEFAULT = "HUB_VNPOST_PASSWORD", "sandbox-vnpost-password"


class VnpostSimulator(SimulatorApp):
    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.password = os.environ.get(PASSWORD_ENV, PASSWORD_DEFAULT)
        self.lock = threading.Lock()
        self.tokens: dict[str, float] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.step_seconds = float(self.options.get("step_seconds", 2))
        self.token_ttl = float(self.options.get("token_ttl", 3600))
        self.webhook_url: str | None = None
        self.webhook_token = ""
        self.tokens_issued = 0
        self.serial_base = uuid.uuid4().int % 900_000_000
        self.http = requests.Session()
        self.http.trust_env = False
        for name, handler in (("GetAccessToken", self.get_token), ("CreateOrder", self.create_order),
                              ("orderCancel", self.cancel), ("GetStatusHistoryOrder", self.history)):
            self.route("POST", f"/customer-partner/{name}", handler)
        self.route("POST", "/_config", self._config)
        self.route("POST", "/_push", self._push)
        self.route("GET", "/_orders", lambda r: json_response({k: {**v, "history": self._history(v)} for k, v in self.orders.items()}))
        self.route("GET", "/_stats", lambda r: json_response({"tokens_issued": self.tokens_issued, "orders": len(self.orders)}))

    def get_token(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        if (body.get("username"), body.get("password"), body.get("customerCode")) != (USERNAME, self.password, CUSTOMER):
            return json_response({"success": False, "message": "Sai thông tin đăng nhập"})
        token = uuid.uuid4().hex
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_ttl
            self.tokens_issued += 1
        return json_response({"success": True, "token": token})

    def _authorised(self, request: Request) -> bool:
        return self.tokens.get(request.headers.get("token", ""), 0) > time.monotonic()

    def create_order(self, request: Request) -> Response:
        if not self._authorised(request):
            return json_response({"success": False, "message": "Token không hợp lệ hoặc hết hạn"}, 401)
        body = request.get_json(force=True, silent=True) or {}
        info = body.get("informationOrder") or {}
        missing = [f for f in ("senderFullName", "senderTel", "senderAddress", "receiverFullName", "receiverTel",
                               "receiverAddress", "saleOrderCode") if not info.get(f)]
        if body.get("customerCode") != CUSTOMER or missing:
            return json_response({"success": False, "message": f"Thiếu thông tin: {', '.join(missing) or 'customerCode'}"})
        with self.lock:
            for existing in self.orders.values():   # partnerOrderCode: the same booking asked twice is one order
                if info.get("partnerOrderCode") and existing["partnerOrderCode"] == info.get("partnerOrderCode"):
                    return json_response(self._answer(existing))
            n = len(self.orders) + 1
            serial = self.serial_base + n       # tracking numbers are unique across sandbox runs, as VNPost's are
            order = {"orderHdrID": serial, "itemCode": f"EP{serial:09d}VN", "created": time.time(), "cancelled": False,
                     "extra": [], "saleOrderCode": info["saleOrderCode"], "partnerOrderCode": info.get("partnerOrderCode"),
                     "totalFee": 15000 + 10 * int(info.get("weight") or 0)}
            self.orders[order["itemCode"]] = order
        return json_response(self._answer(order))

    @staticmethod
    def _answer(order: dict[str, Any]) -> dict[str, Any]:
        return {"success": True, "orderHdrID": order["orderHdrID"], "itemCode": order["itemCode"], "status": 1,
                "totalFee": order["totalFee"]}

    def _history(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        steps = len(LIFECYCLE) if self.step_seconds <= 0 else \
            min(len(LIFECYCLE), 1 + int((time.time() - order["created"]) / self.step_seconds))
        if order["cancelled"]:
            steps = min(steps, order["cancelled"])
        items = [_item(code, datetime.fromtimestamp(order["created"] + i * max(self.step_seconds, 0), VIETNAM))
                 for i, code in enumerate(LIFECYCLE[:steps])]
        if order["cancelled"]:
            items.append(_item(22, datetime.now(VIETNAM)))
        return items + order["extra"]

    def cancel(self, request: Request) -> Response:
        if not self._authorised(request):
            return json_response({"success": False, "message": "Token không hợp lệ hoặc hết hạn"}, 401)
        order = self.orders.get(str((request.get_json(force=True, silent=True) or {}).get("itemCode")))
        if order is None:
            return json_response({"success": False, "message": "Không tìm thấy đơn hàng"})
        reached = len(self._history(order))
        if LIFECYCLE[min(reached, len(LIFECYCLE)) - 1] >= 6:
            return json_response({"success": False, "message": "Đơn hàng đã được lấy, không thể hủy"})
        order["cancelled"] = reached
        return json_response({"success": True})

    def history(self, request: Request) -> Response:
        if not self._authorised(request):
            return json_response({"success": False, "message": "Token không hợp lệ hoặc hết hạn"}, 401)
        order = self.orders.get(str((request.get_json(force=True, silent=True) or {}).get("itemCode")))
        if order is None:
            return json_response({"success": False, "message": "Không tìm thấy đơn hàng"})
        return json_response({"success": True, "itemCode": order["itemCode"], "statusHistory": self._history(order)})

    def _config(self, request: Request) -> Response:
        spec = request.get_json(force=True) or {}
        self.step_seconds = float(spec.get("step_seconds", self.step_seconds))
        self.token_ttl = float(spec.get("token_ttl", self.token_ttl))
        self.webhook_url = spec.get("webhook_url", self.webhook_url)
        self.webhook_token = spec.get("webhook_token", self.webhook_token)
        return json_response({"ok": True})

    def _push(self, request: Request) -> Response:
        spec = request.get_json(force=True) or {}
        order = self.orders.get(str(spec.get("itemCode")))
        if order is None or not self.webhook_url:
            return json_response({"error": "unknown itemCode or no webhook_url"}, 404)
        item = _item(int(spec["statusCode"]), datetime.now(VIETNAM) - timedelta(minutes=float(spec.get("minutes_ago", 0))))
        order["extra"].append(item)
        r = self.http.post(self.webhook_url, json={"itemCode": order["itemCode"], **item},
                           headers={"token": self.webhook_token}, timeout=15)
        return json_response({"status": r.status_code, "body": r.text})


def _item(code: int, at: datetime) -> dict[str, Any]:
    return {"statusCode": code, "statusName": NAMES.get(code, str(code)), "createdDate": at.strftime("%d/%m/%Y"),
            "createHour": at.strftime("%H:%M:%S")}


registry.simulators.register("vnpost")(VnpostSimulator)
