"""Serves every registered simulator on one loopback port: ``http://<host>:<port>/<simulator>/...``."""
from __future__ import annotations

from typing import Any

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Response

from hub import registry


def simulators_app(options: dict[str, dict[str, Any]] | None = None) -> tuple[Any, dict[str, Any]]:
    """The WSGI app mounting each simulator under its name, and the simulator instances (tests inspect them)."""
    options = options or {}
    instances = {name: registry.simulators.get(name)(options.get(name, {})) for name in registry.simulators.names()}
    root = Response("LGSP hub partner simulators: " + ", ".join(f"/{n}" for n in instances), content_type="text/plain")
    return DispatcherMiddleware(root, {f"/{n}": app for n, app in instances.items()}), instances
