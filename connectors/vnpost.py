"""MyVNPost (partners.md §5): the public postal service collects dossiers (gom hồ sơ) and delivers results.

* token auth: ``GetAccessToken {username, password, customerCode}`` -> ``{success, token}``; the token is cached
  and renewed before ``token_ttl`` runs out, or at once when VNPost answers 401;
* ``postal.pickup`` / ``postal.deliver`` -> ``CreateOrder`` -> the tracking number (``itemCode``) as the reply;
  one order per delivery (kept in the store), so a retried delivery never books a second postman;
* ``cancel(tracking)`` -> ``orderCancel``;
* status: ``poll()`` pulls ``GetStatusHistoryOrder`` for open orders every ``poll_interval``; VNPost's webhook
  (``/v1/inbound/<name>``, header ``token`` = ``webhook_token``) pushes the same. Each status moving the order
  forward becomes ``postal.status``; late ones are recorded, not applied (hub/store/postal.py).
"""
from __future__ import annotations

import hmac
import json
import time
from datetime import datetime
from typing import Any

from connectors.rest import HttpConnector
from hub import errors, registry
from hub.contracts import Delivery, InboundMessage, InboundRequest, InboundResponse, Reply
from hub.errors import PermanentError, RequestError
from hub.gateway import parse_json_body
from hub.store.payments import VIETNAM
from hub.store.postal import PostalRepository, Status

FLOWS = {"postal.pickup": "pickup", "postal.deliver": "deliver"}


def party(prefix: str, p: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}FullName": p["name"], f"{prefix}Tel": p["phone"], f"{prefix}Address": p["address"],
            f"{prefix}ProvinceId": p["province_code"], f"{prefix}DistrictId": p.get("district_code", ""),
            f"{prefix}WardId": p.get("commune_code", ""), f"{prefix}Email": p.get("email", "")}


def vn_time(date_text: str, hour: str) -> str:
    """createdDate (dd/MM/yyyy) + createHour (HH:mm[:ss]) -> RFC 3339 +07:00."""
    for fmt in ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(f"{date_text} {hour}", fmt).replace(tzinfo=VIETNAM).isoformat()
        except ValueError:
            continue
    raise PermanentError(errors.DLV_BAD_REPLY, "VNPost status time is not dd/MM/yyyy HH:mm")


@registry.connectors.register("vnpost")
class VnpostConnector(HttpConnector):
    type_name = "vnpost"
    capabilities = frozenset({"send", "call", "inbound", "poll"})
    config_schema = {
        "type": "object", "additionalProperties": False,
        "required": ["url", "username", "password", "customer_code", "contract_code"],
        "properties": {
            "url": {"type": "string", "pattern": "^https?://"}, "username": {"type": "string"},
            "password": {"type": "string", "description": "(${env:...})"}, "customer_code": {"type": "string"},
            "contract_code": {"type": "string"}, "service_code": {"type": "string"},
            "token_ttl": {"type": "number", "minimum": 1}, "poll_interval": {"type": "number", "minimum": 0},
            "webhook_token": {"type": "string"}, "connect_timeout": {"type": "number"},
            "health_path": {"type": "string"}}}

    _token: str | None = None
    _token_until = 0.0
    _last_poll = 0.0
    _repo: PostalRepository | None = None

    @property
    def repo(self) -> PostalRepository:
        if self._repo is None:
            self._repo = PostalRepository(self.context.store.engine)
        return self._repo

    # --- token ------------------------------------------------------------------------------------
    def token(self, renew: bool = False) -> str:
        if renew or self._token is None or time.monotonic() >= self._token_until:
            body = self.json_of(self.name, self.post_json(f"{self.base_url}/customer-partner/GetAccessToken", {
                "username": self.options["username"], "password": self.options["password"],
                "customerCode": self.options["customer_code"]}))
            if not body.get("success") or not body.get("token"):
                raise PermanentError(errors.POSTAL_AUTH, f"{self.name}: GetAccessToken refused")
            # renew a little early: a token expiring in flight costs a refused order and a retry
            self._token, self._token_until = body["token"], time.monotonic() + 0.9 * float(self.options.get("token_ttl", 3600))
        return self._token

    def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/customer-partner/{operation}"
        try:
            response = self.post_json(url, body, {"token": self.token()})
        except PermanentError as exc:
            if "HTTP 401" not in exc.detail:
                raise
            response = self.post_json(url, body, {"token": self.token(renew=True)})   # expired early: once more
        return self.json_of(self.name, response)

    # --- orders -------------------------------------------------------------------------------------
    def send(self, delivery: Delivery) -> Reply:
        flow = FLOWS.get(delivery.message.type)
        if flow is None:
            raise PermanentError(errors.PAY_UNSUPPORTED, f"{self.name} takes postal.pickup/postal.deliver")
        existing = self.repo.by_delivery(delivery.id)
        if existing is None:
            p = delivery.body if isinstance(delivery.body, dict) else delivery.message.payload
            order = {"orderCreationStatus": 1, "type": "GUI", "customerCode": self.options["customer_code"],
                     "contractCode": self.options["contract_code"], "informationOrder": {
                         **party("sender", p["sender"]), **party("receiver", p["receiver"]),
                         "serviceCode": p.get("service_code") or self.options.get("service_code", "BK"),
                         "saleOrderCode": p["dossier_code"], "contentNote": p.get("content_note", ""),
                         "weight": p.get("weight_g", 100), "codAmount": p.get("cod_amount", 0),
                         "note": p.get("note", ""), "partnerOrderCode": delivery.idempotency_key[-50:]}}
            answer = self.call("CreateOrder", order)
            if not answer.get("itemCode"):
                raise PermanentError(errors.POSTAL_REFUSED, f"{self.name}: {str(answer.get('message'))[:150]}")
            self.repo.record_order(tracking=answer["itemCode"], connector=self.name, delivery_id=delivery.id,
                                   order_id=str(answer.get("orderHdrID")), dossier_code=p["dossier_code"], flow=flow,
                                   status_code=int(answer.get("status", 1)), total_fee=answer.get("totalFee"))
            existing = self.repo.by_delivery(delivery.id)
        payload = {"tracking_number": existing["tracking_number"], "order_id": existing["order_id"]}
        if existing["total_fee"] is not None:
            payload["total_fee"] = int(existing["total_fee"])
        return Reply(status=200, partner_ref=existing["tracking_number"], payload=payload)

    def cancel(self, tracking: str) -> None:
        order = self.repo.get(tracking)
        answer = self.call("orderCancel", {"orderHdrID": order["order_id"] if order else None, "itemCode": tracking})
        if not answer.get("success"):
            raise PermanentError(errors.POSTAL_REFUSED, f"{self.name}: orderCancel: {str(answer.get('message'))[:150]}")
        self.repo.mark_cancelled(tracking)

    # --- status -------------------------------------------------------------------------------------
    def statuses(self, tracking: str, history: list[dict[str, Any]]) -> list[InboundMessage]:
        order = self.repo.get(tracking)
        if order is None:
            return []
        out = []
        ordered = [Status(int(item["statusCode"]), vn_time(item["createdDate"], item["createHour"]),
                          str(item.get("statusName", "")))
                   for item in sorted(history, key=lambda h: vn_time(h["createdDate"], h["createHour"]))]
        for status, (new, applied) in zip(ordered, self.repo.apply_all(tracking, ordered)):
            if new and applied:
                payload = {"dossier_code": order["dossier_code"], "flow": order["flow"], "order_id": order["order_id"],
                           "tracking_number": tracking, "status_code": status.code, "at": status.at}
                if status.name:
                    payload["status_name"] = status.name
                out.append(InboundMessage("postal.status", payload, subject=order["dossier_code"],
                                          id=f"{self.name}-{tracking}-{status.code}-{status.at}"))
        return out

    def poll(self) -> list[InboundMessage]:
        interval = float(self.options.get("poll_interval", 60))
        if time.monotonic() - self._last_poll < interval:
            return []
        self._last_poll = time.monotonic()
        messages: list[InboundMessage] = []
        for order in self.repo.open_orders(self.name):
            answer = self.call("GetStatusHistoryOrder", {"itemCode": order["tracking_number"]})
            messages += self.statuses(order["tracking_number"], answer.get("statusHistory") or [])
        return messages

    def inbound(self, request: InboundRequest) -> tuple[list[InboundMessage], InboundResponse]:
        expected = self.options.get("webhook_token")
        given = {k.lower(): v for k, v in request.headers.items()}.get("token", "")
        if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
            return [], InboundResponse(401, json.dumps({"success": False, "message": "invalid token"}).encode())
        try:
            body = parse_json_body(request.body)   # strict: UTF-8, no duplicate keys, bounded numbers and depth
            messages = self.statuses(str(body["itemCode"]), [body])
        except (ValueError, KeyError, TypeError, PermanentError, RequestError):
            return [], InboundResponse(400, json.dumps({"success": False, "message": "bad status"}).encode())
        return messages, InboundResponse(200, json.dumps({"success": True}).encode())
