"""What the SMS gateway simulators share (viettel_sms, vnpt_sms): the record of every SMS, refusals on demand,
and MO (citizens' texts to the short code) injected towards the hub.

Control endpoints (names start with "_", so injected HTTP faults never hit them):

* ``POST /_config`` ``{"hub_url": "http://.../v1/inbound/sms", "mo_secret": "...", "refuse": n, "code": "..."}``:
  where MO goes (as registered with the gateway) and the shared secret it carries (header ``X-Gateway-Token``);
  ``refuse``: the next n MT requests get the business refusal ``code`` (gateway-specific; default its generic one);
* ``POST /_mo`` ``{"userId", "serviceNumber", "commandCode", "info"}``: one MO, posted form-encoded to the hub as
  the gateway does; answers ``{"status", "body"}`` with the hub's synchronous reply (``contentType;messageType;info``);
* ``GET /_sms``: every SMS accepted, oldest first; ``GET /_refused``: every refusal with its code.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from simulators.base import SimulatorApp, json_response


class SmsGatewaySimulator(SimulatorApp):
    default_refusal = "0"

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.lock = threading.Lock()
        self.sent: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        self.refuse_next = 0
        self.refusal_code = self.default_refusal
        self.hub_url: str | None = self.options.get("hub_url")
        self.mo_secret = str(self.options.get("mo_secret", ""))
        self.http = requests.Session()
        self.http.trust_env = False
        self.route("POST", "/_config", self._config)
        self.route("POST", "/_mo", self._mo)
        self.route("GET", "/_sms", lambda r: json_response(self.sent))
        self.route("GET", "/_refused", lambda r: json_response(self.refused))

    # --- for subclasses ------------------------------------------------------------------------------
    def injected_refusal(self) -> str | None:
        """The refusal code to answer with now, if one was asked for (counts down)."""
        with self.lock:
            if self.refuse_next <= 0:
                return None
            self.refuse_next -= 1
            return self.refusal_code

    def record(self, **sms: Any) -> None:
        with self.lock:
            self.sent.append({**sms, "at": time.time()})

    def refuse(self, code: str, reason: str, **detail: Any) -> None:
        with self.lock:
            self.refused.append({"code": code, "reason": reason, **detail})

    # --- control ---------------------------------------------------------------------------------------
    def _config(self, request: Request) -> Response:
        spec = request.get_json(force=True) or {}
        with self.lock:
            self.hub_url = spec.get("hub_url", self.hub_url)
            self.mo_secret = str(spec.get("mo_secret", self.mo_secret))
            self.refuse_next = int(spec.get("refuse", self.refuse_next))
            self.refusal_code = str(spec.get("code", self.default_refusal))
        return json_response({"ok": True})

    def _mo(self, request: Request) -> Response:
        spec = request.get_json(force=True) or {}
        if not self.hub_url:
            return json_response({"error": "no hub_url: POST /_config first"}, 409)
        form = {k: str(spec.get(k, "")) for k in ("userId", "serviceNumber", "commandCode", "info")}
        if spec.get("requestId"):
            form["requestId"] = str(spec["requestId"])
        headers = {"X-Gateway-Token": str(spec.get("secret", self.mo_secret))}
        r = self.http.post(self.hub_url, data=form, headers=headers, timeout=15)
        return json_response({"status": r.status_code, "body": r.text})
