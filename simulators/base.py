"""What every simulator shares: a werkzeug app with routes, JSON helpers and faults on demand.

Faults (POST ``/<sim>/_faults``): ``{"mode": "ok" | "status" | "timeout" | "reset" | "slow", "status": 500,
"count": 10, "delay": 0.2, "retry_after": 2}``: the next ``count`` requests (all, when absent) fail that way.
"""
from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

Handler = Callable[[Request], Response]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers,
                    content_type="application/json; charset=utf-8")


class Faults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mode = "ok"
        self.remaining: int | None = None
        self.status = 500
        self.delay = 0.0
        self.retry_after: float | None = None

    def set(self, spec: dict[str, Any]) -> None:
        with self.lock:
            self.mode = spec.get("mode", "ok")
            self.remaining = spec.get("count")
            self.status = int(spec.get("status", 500))
            self.delay = float(spec.get("delay", 0))
            self.retry_after = spec.get("retry_after")

    def take(self) -> str:
        with self.lock:
            if self.mode == "ok":
                return "ok"
            if self.remaining is not None:
                if self.remaining <= 0:
                    self.mode = "ok"
                    return "ok"
                self.remaining -= 1
            return self.mode

    def apply(self, request: Request) -> Response | None:
        """A fault response, or None to answer normally (after any injected delay)."""
        mode = self.take()
        if mode == "slow":
            time.sleep(self.delay)
            return None
        if mode == "timeout":
            time.sleep(self.delay or 30)
            return json_response({"error": "late"}, 504)
        if mode == "reset":
            # promise more bytes than are sent, then end: the client sees the connection cut mid-response
            return _Truncated()
        if mode == "status":
            headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
            return json_response({"error": "injected fault"}, self.status, headers)
        return None


class SimulatorApp:
    """A WSGI app built from (method, path, handler) rules; subclasses add their partner's endpoints."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}
        self.faults = Faults()
        self.rules: list[tuple[str, list[str], str]] = []
        self.handlers: dict[str, Handler] = {}
        self.route("POST", "/_faults", self._set_faults)

    def route(self, methods: str, path: str, handler: Callable[..., Response]) -> None:
        endpoint = f"{methods} {path}"
        self.rules.append((path, methods.split(","), endpoint))
        self.handlers[endpoint] = handler
        self._map = Map([Rule(p, methods=m, endpoint=e) for p, m, e in self.rules])  # a Rule binds to one Map

    def _set_faults(self, request: Request) -> Response:
        self.faults.set(request.get_json(force=True) or {})
        return json_response({"ok": True})

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        try:
            endpoint, args = self._map.bind_to_environ(environ).match()
            if not endpoint.endswith("/_faults") and not request.path.rsplit("/", 1)[-1].startswith("_"):
                fault = self.faults.apply(request)
                if fault is not None:
                    # read the request as a real server does: a body left unread makes werkzeug drain it with a
                    # blocking read after the answer, while the client waits for the answer's promised bytes
                    request.get_data()
                    return fault(environ, start_response)  # type: ignore[operator]
            response = self.handlers[endpoint](request, **args)
        except HTTPException as exc:
            response = json_response({"error": exc.name}, exc.code or 500)
        return response(environ, start_response)


class _Truncated:
    def __call__(self, environ: dict, start_response: Callable) -> Any:
        # Connection: close - else a keep-alive server waits for the next request while the client waits for the
        # promised bytes, and the "cut" becomes a read timeout
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "4096"),
                                  ("Connection", "close")])
        return [b'{"partial": ']
