"""Starts the hub's services in this process (the embedded default runs them all) and stops them cleanly."""
from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Any

import eventlet
import eventlet.event
import eventlet.wsgi
from nameko.containers import ServiceContainer

from hub import logging as hub_logging
from hub.bus import is_amqp, transport_options
from hub.services.workers import WorkerPool
from hub.config.model import HubConfig
from hub.runtime import HubRuntime
from hub.services.dispatcher import make_dispatcher
from hub.services.clients import make_client_services
from hub.services.gateway import make_gateway
from hub.services.scheduler import make_scheduler
from hub.simhost import simulators_app

log = logging.getLogger("hub.runner")
ROLES = ("all", "gateway", "worker")


class _QuietLog:
    """eventlet.wsgi logs every request line; the hub's trace is the record, so keep the console readable."""

    def write(self, *_args: Any) -> None:
        pass


def nameko_config(config: HubConfig, max_workers: int) -> dict[str, Any]:
    s = config.settings
    return {"AMQP_URI": s.transport, "WEB_SERVER_ADDRESS": f"{s.http_host}:{s.http_port}",
            "max_workers": max_workers, "serializer": "json", "ACCEPT": ["json"],
            "TRANSPORT_OPTIONS": transport_options(s.transport), "HEARTBEAT": 30}


def service_classes(runtime: HubRuntime, role: str) -> list[tuple[type, int]]:
    """(service class, max workers) for this process's role."""
    classes: list[tuple[type, int]] = []
    if role in ("all", "gateway"):
        classes.append((make_gateway(runtime), 256))
        classes.extend((cls, 64) for cls in make_client_services(runtime))
    if role in ("all", "worker"):
        for name, spec in runtime.config.connectors.items():
            classes.append((make_dispatcher(runtime, name), spec.concurrency))
        classes.append((make_scheduler(runtime), 2))
    return classes


class HubProcess:
    def __init__(self, config: HubConfig, role: str = "all") -> None:
        self.config = config
        self.role = role
        self.runtime = HubRuntime(config)
        self.containers: list[ServiceContainer] = []
        self.sim_server: Any = None
        self.simulators: dict[str, Any] = {}

    def start(self) -> None:
        s = self.config.settings
        if s.simulators and s.sandbox and self.role in ("all", "gateway"):
            app, self.simulators = simulators_app()
            sock = eventlet.listen((s.sim_host, s.sim_port))
            self.sim_server = eventlet.spawn(eventlet.wsgi.server, sock, app, log=_QuietLog(), max_size=1000)
        self.runtime.start()
        for cls, workers in service_classes(self.runtime, self.role):
            container = ServiceContainer(cls, nameko_config(self.config, workers))
            container.start()
            self.containers.append(container)

    def stop(self) -> None:
        # In parallel: each consumer notices its stop only between two polls of the bus (about a second), so
        # stopping a dozen dispatchers one by one would take longer than a supervisor waits before SIGKILL.
        # Every in-flight worker still finishes and records its outcome before its container stops.
        def stop_one(container: ServiceContainer) -> None:
            try:
                container.stop()
            except Exception:  # noqa: BLE001 - keep stopping the rest
                log.exception("container %s failed to stop", container.service_name)

        pool = eventlet.GreenPool(len(self.containers) or 1)
        for container in reversed(self.containers):
            pool.spawn(stop_one, container)
        pool.waitall()
        if self.sim_server is not None:
            self.sim_server.kill()
        self.runtime.stop()


def banner(config: HubConfig, role: str) -> str:
    s = config.settings
    base = f"http://{s.http_host}:{s.http_port}"
    lines = [f"LGSP hub is running (role {role}; bus {_safe(s.transport)}; store {_safe(s.store)})"]
    if role in ("all", "gateway"):
        lines += [f"  client API     {base}/v1/messages   (OpenAPI: {base}/v1/openapi.json)",
                  f"  health         {base}/healthz",
                  f"  dashboard      {base}/ui",
                  "  sandbox token  sandbox-demo-token (client 'demo')" if s.sandbox else ""]
    if s.simulators and s.sandbox and role in ("all", "gateway"):
        lines.append(f"  simulators     http://{s.sim_host}:{s.sim_port}/")
    lines.append("  trace a message: python run.py trace <id>     stop: Ctrl-C")
    return "\n".join(line for line in lines if line)


def _safe(url: str) -> str:
    """A URL without its password, for printing."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def serve(config: HubConfig, role: str = "all", workers: int = 0, worker_argv: list[str] | None = None) -> int:
    """Run this process's role; with ``workers`` > 0 this process is the gateway and N local worker processes
    (``run.py serve --role worker``) share the connectors' queues, supervised and restarted if they die."""
    if workers and not is_amqp(config.settings.transport):
        print("--workers needs a shared bus: give --transport amqp://... (and a shared --store postgresql://...)",
              file=sys.stderr)
        return 2
    hub_logging.configure(os.environ.get("HUB_LOG_LEVEL", "INFO"))  # JSON lines, personal data masked
    process = HubProcess(config, "gateway" if workers else role)
    pool = WorkerPool(workers, worker_argv or []) if workers else None
    stopping = eventlet.event.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if not stopping.ready():
            stopping.send(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    process.start()
    if pool:
        pool.start()
    print(banner(config, process.role) + (f"\n  workers        {workers} local worker process(es)" if pool else ""),
          flush=True)
    try:
        stopping.wait()
    finally:
        print("stopping ...", flush=True)
        if pool:
            pool.stop()
        process.stop()
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python run.py serve")
