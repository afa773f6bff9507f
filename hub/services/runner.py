"""Starts the hub's services in this process (the embedded default runs them all) and stops them cleanly."""
from __future__ import annotations

import gc
import logging
import os
import signal
import sys
from types import SimpleNamespace
from typing import Any

import eventlet
import eventlet.event
import eventlet.wsgi
from nameko.containers import ServiceContainer
from werkzeug.wrappers import Request, Response

from hub import logging as hub_logging
from hub import metrics
from hub.bus import is_amqp, transport_options
from hub.services import diagnostics
from hub.services.workers import WorkerPool
from hub.config.model import HubConfig
from hub.runtime import HubRuntime
from hub.services.dispatcher import handler_slots, make_dispatcher
from hub.services.clients import make_client_services
from hub.services.gateway import make_gateway
from hub.services.supervise import Supervisor
from hub.services.scheduler import make_scheduler
from hub.simhost import simulators_app
from hub.web import ops

log = logging.getLogger("hub.runner")
ROLES = ("all", "gateway", "worker")
#: allocations (net of frees) between two collections of the youngest generation; Python's default is 700
GC_YOUNG_THRESHOLD = 20_000


def settle_memory() -> None:
    """Once the services run: what start-up loaded (modules, config, schemas, keys, nameko's and kombu's machinery)
    lives as long as the process, so it is moved out of the cyclic collector's sight (``gc.freeze``) instead of
    being walked again at every full collection; and the youngest generation is collected after 20,000 net
    allocations instead of 700, so the per-message objects (freed by reference counting almost all) no longer
    trigger a collection every few messages. Collections were 6-8 % of a loaded gateway's and worker's CPU
    (bench/README.md). Reference counting still frees nearly everything at once; what cycles remain wait a
    little longer, which the soak's flat memory checks."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


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
            classes.append((make_dispatcher(runtime, name), handler_slots(spec.concurrency)))
        classes.append((make_scheduler(runtime), 2))
    return classes


def metrics_app(runtime: Any = None) -> Any:
    """``/metrics`` and ``/healthz`` of this process, for a process without the gateway's HTTP server (a worker):
    the same handlers as the gateway's (hub/web/ops.py), nothing else. No login, like on the gateway: keep the
    port on the internal network (README, "Operations")."""
    pages = {"/metrics": ops.metrics_page, "/healthz": ops.healthz}
    holder = SimpleNamespace(runtime=runtime)   # /healthz shows this worker's keys and circuit breakers

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        handler = pages.get(request.path) if request.method in ("GET", "HEAD") else None
        response = handler(holder, request) if handler else Response("not found", status=404)
        return response(environ, start_response)
    return app


class HubProcess:
    def __init__(self, config: HubConfig, role: str = "all", metrics_port: int | None = None) -> None:
        self.config = config
        self.role = role
        self.runtime = HubRuntime(config)
        self.supervisor = Supervisor()   # a container that dies while the process runs is started again
        self.sim_server: Any = None
        self.simulators: dict[str, Any] = {}
        self.metrics_port = metrics_port            # None: no separate metrics endpoint; 0: any free port
        self.metrics_server: Any = None
        self.metrics_address: tuple[str, int] | None = None

    def start(self, cancelled: Any = lambda: False) -> bool:
        """False when told to stop while waiting for the store or the bus (nothing else was started)."""
        s = self.config.settings
        if s.simulators and s.sandbox and self.role in ("all", "gateway"):
            app, self.simulators = simulators_app()
            sock = eventlet.listen((s.sim_host, s.sim_port))
            self.sim_server = eventlet.spawn(eventlet.wsgi.server, sock, app, log=_QuietLog(), max_size=1000)
        if not self.runtime.start(cancelled):
            return False
        if self.metrics_port is not None:
            self._serve_metrics()
        for cls, workers in service_classes(self.runtime, self.role):
            self.supervisor.start(cls, nameko_config(self.config, workers))
        settle_memory()
        return True

    def _serve_metrics(self) -> None:
        # A worker has no gateway service to attach the scrape-time state: attach only its own (circuits), the
        # store's and key files' figures come from the gateway (hub/metrics.py, attach).
        if self.role == "worker":
            metrics.attach(self.runtime, shared=False)
        sock = eventlet.listen((self.config.settings.http_host, self.metrics_port))
        host, port = sock.getsockname()[:2]
        self.metrics_address = (host, port)
        self.metrics_server = eventlet.spawn(eventlet.wsgi.server, sock, metrics_app(self.runtime), log=_QuietLog(),
                                            max_size=16)
        log.info("metrics of this %s process at http://%s:%d/metrics", self.role, host, port)

    def stop(self) -> None:
        # In parallel: each consumer notices its stop only between two polls of the bus (about a second), so
        # stopping a dozen dispatchers one by one would take longer than a supervisor waits before SIGKILL.
        # Every in-flight worker still finishes and records its outcome before its container stops.
        def stop_one(container: ServiceContainer) -> None:
            try:
                container.stop()
            except Exception:  # noqa: BLE001 - keep stopping the rest
                log.exception("container %s failed to stop", container.service_name)

        self.supervisor.stop_all(stop_one)
        if self.sim_server is not None:
            self.sim_server.kill()
        if self.metrics_server is not None:
            self.metrics_server.kill()
        self.runtime.stop()


def banner(config: HubConfig, role: str, metrics_address: tuple[str, int] | None = None) -> str:
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
    if metrics_address:
        lines.append(f"  metrics        http://{metrics_address[0]}:{metrics_address[1]}/metrics")
    lines.append("  trace a message: python run.py trace <id>     stop: Ctrl-C")
    return "\n".join(line for line in lines if line)


def _safe(url: str) -> str:
    """A URL without its password, for printing."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def serve(config: HubConfig, role: str = "all", workers: int = 0, worker_argv: list[str] | None = None,
          metrics_port: int | None = None) -> int:
    """Run this process's role; with ``workers`` > 0 this process is the gateway and N local worker processes
    (``run.py serve --role worker``) share the connectors' queues, supervised and restarted if they die.

    ``metrics_port``: serve this process's ``/metrics`` on that port too (0: any free port, printed); with
    ``workers`` it goes to the workers instead, worker i on ``metrics_port + i`` (the gateway's own figures are
    on its HTTP port)."""
    if workers and not is_amqp(config.settings.transport):
        print("--workers needs a shared bus: give --transport amqp://... (and a shared --store postgresql://...)",
              file=sys.stderr)
        return 2
    hub_logging.configure(os.environ.get("HUB_LOG_LEVEL", "INFO"))  # JSON lines, personal data masked
    process = HubProcess(config, "gateway" if workers else role, None if workers else metrics_port)
    pool = WorkerPool(workers, worker_argv or [], metrics_port) if workers else None
    stopping = eventlet.event.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if not stopping.ready():
            stopping.send(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    diagnostics.install()  # kill -USR2 <pid>: every green thread's stack to the log
    if not process.start(cancelled=stopping.ready):   # waits while the store or the bus is not up yet
        print("stopped before the store and the bus were reachable", flush=True)
        process.stop()
        return 0
    if pool:
        pool.start()
    print(banner(config, process.role, process.metrics_address)
          + (f"\n  workers        {workers} local worker process(es)" if pool else "")
          + (f"; metrics on ports {pool.metrics_ports()}" if pool and metrics_port is not None else ""), flush=True)
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
