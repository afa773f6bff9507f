"""A client system's webhook receiver (the sandbox one-stop software): verifies the hub's signature, keeps events.

* ``POST /<client>/events`` -> 204; 401 when the signature is missing or wrong
* ``GET /<client>/events``  -> the events received, oldest first
"""
from __future__ import annotations

import json
import os
import threading

from werkzeug.wrappers import Request, Response

from connectors.webhook import SIGNATURE_HEADER, verify_webhook
from hub import registry
from simulators.base import SimulatorApp, json_response

SANDBOX_SECRET_ENV = "HUB_DEMO_WEBHOOK_SECRET"
SANDBOX_SECRET_DEFAULT = "sandbox-webhook-secret"


class OneStopSimulator(SimulatorApp):
    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.secret = os.environ.get(SANDBOX_SECRET_ENV, SANDBOX_SECRET_DEFAULT)
        self.lock = threading.Lock()
        self.events: dict[str, list[dict]] = {}
        self.keys: dict[str, set[str]] = {}
        self.route("POST", "/<client>/events", self.receive)
        self.route("GET", "/<client>/events", self.list_events)

    def receive(self, request: Request, client: str) -> Response:
        body = request.get_data()
        if not verify_webhook(self.secret, body, request.headers.get(SIGNATURE_HEADER, "")):
            return json_response({"error": "bad or missing signature"}, 401)
        event = json.loads(body)
        key = request.headers.get("Idempotency-Key") or event["id"]
        with self.lock:
            seen = self.keys.setdefault(client, set())
            if key not in seen:  # the delivery id is the key: a redelivered event has no second effect
                seen.add(key)
                self.events.setdefault(client, []).append(event)
        return Response(status=204)

    def list_events(self, request: Request, client: str) -> Response:
        with self.lock:
            return json_response(list(self.events.get(client, [])))


registry.simulators.register("onestop")(OneStopSimulator)
