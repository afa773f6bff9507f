"""Endpoints for the platform team: Prometheus metrics, liveness, readiness. No login: they carry no personal
data and no ids; put them behind the internal network (see README, "Operations")."""
from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from hub import health, metrics


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json; charset=utf-8",
                    headers={"Cache-Control": "no-store"})


def metrics_page(ui: Any, request: Request) -> Response:
    return Response(metrics.exposition(), status=200, content_type=metrics.CONTENT_TYPE)


def healthz(ui: Any, request: Request) -> Response:
    """Liveness: answering at all is the proof; the body adds signing keys and circuit breakers (hub.health)."""
    return _json(200, health.liveness(getattr(ui, "runtime", None)))


def readyz(ui: Any, request: Request) -> Response:
    report = health.readiness(ui.runtime)
    return _json(200 if report["status"] == "ok" else 503, report)


ROUTES = [("GET", "/metrics", metrics_page), ("GET", "/healthz", healthz), ("GET", "/readyz", readyz)]
