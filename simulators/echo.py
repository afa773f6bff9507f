"""Echo partner simulator: answers every message and records it, counting partner effects per idempotency key.

* ``POST /messages``  -> ``{"ref", "echo", "duplicate"}``; a repeated Idempotency-Key has no second effect
* ``GET /_stats``     -> ``{"requests", "effects", "keys": {key: requests}}``
* ``POST /_reset``    -> forget everything
"""
from __future__ import annotations

import threading
import uuid

from werkzeug.wrappers import Request, Response

from hub import registry
from simulators.base import SimulatorApp, json_response


class EchoSimulator(SimulatorApp):
    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.lock = threading.Lock()
        self.requests = 0
        self.keys: dict[str, int] = {}
        self.refs: dict[str, str] = {}
        self.route("POST", "/messages", self.message)
        self.route("GET", "/_stats", self.stats)
        self.route("POST", "/_reset", self.reset)
        self.route("GET", "/health", lambda request: json_response({"status": "up"}))

    def message(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return json_response({"error": "body must be a JSON object"}, 400)
        key = request.headers.get("Idempotency-Key") or str(uuid.uuid4())
        with self.lock:
            self.requests += 1
            duplicate = key in self.keys
            self.keys[key] = self.keys.get(key, 0) + 1
            ref = self.refs.setdefault(key, f"ECHO-{len(self.refs) + 1:08d}")
        return json_response({"ref": ref, "duplicate": duplicate, "echo": body.get("body")})

    def stats(self, request: Request) -> Response:
        with self.lock:
            return json_response({"requests": self.requests, "effects": len(self.keys), "keys": dict(self.keys)})

    def reset(self, request: Request) -> Response:
        with self.lock:
            self.requests, self.keys, self.refs = 0, {}, {}
        return json_response({"ok": True})


registry.simulators.register("echo")(EchoSimulator)
