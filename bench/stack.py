"""What a benchmark runs against: the partner simulators (own process), and the hub in one of its deployments —
embedded (memory:// bus, SQLite, one process) or RabbitMQ + PostgreSQL with a gateway and N worker processes
(``run.py serve --workers N``), each on a fresh vhost and database, removed afterwards."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import requests
import sqlalchemy as sa
import yaml

from bench.procs import Group

ROOT = Path(__file__).resolve().parents[1]
BENCH_CONFIG = ROOT / "bench" / "config"
TOKEN = "sandbox-demo-token"
AMQP_BASE = os.environ.get("BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672")
PG_BASE = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_up(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(check: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if value := check():
                return value
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(interval)
    return None


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # no proxy lookups: halves the client's CPU per request
    s.headers["Authorization"] = f"Bearer {TOKEN}"
    return s


def _merge(base: dict, over: dict) -> dict:
    for key, value in over.items():
        base[key] = _merge(base.get(key) or {}, value) if isinstance(value, dict) else value
    return base


def bench_config(target: Path, sim_port: int, connectors: dict[str, dict] | None = None) -> Path:
    """The sandbox config, plus the bench-only routes of bench/config/routes.yaml, with the simulators served by
    their own process (so the hub's CPU figures hold only the hub) and a scenario's connector options."""
    shutil.copytree(ROOT / "config", target)
    hub = yaml.safe_load((target / "hub.yaml").read_text(encoding="utf-8"))
    hub["hub"]["simulators"] = {"enabled": False, "host": "127.0.0.1", "port": sim_port}
    # one sandbox PKI for the hub and the simulators' process (which runs in the repository and trusts var/pki)
    hub["signing"]["sandbox_pki"] = str(ROOT / "var" / "pki")
    (target / "hub.yaml").write_text(yaml.safe_dump(hub, allow_unicode=True), encoding="utf-8")
    conns = yaml.safe_load((target / "connectors.yaml").read_text(encoding="utf-8"))
    _merge(conns["connectors"], connectors or {})
    (target / "connectors.yaml").write_text(yaml.safe_dump(conns, allow_unicode=True), encoding="utf-8")
    routes = yaml.safe_load((target / "routes.yaml").read_text(encoding="utf-8"))
    extra = yaml.safe_load((BENCH_CONFIG / "routes.yaml").read_text(encoding="utf-8"))
    routes["routes"].extend(extra["routes"])
    (target / "routes.yaml").write_text(yaml.safe_dump(routes, allow_unicode=True), encoding="utf-8")
    return target


@dataclass
class Simulators:
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Simulators":
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "simulators.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.simserver", "--port", str(self.port)],
                                     cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        if not wait_until(lambda: requests.get(self.url + "/echo/health", timeout=1).ok, 30):
            raise RuntimeError(f"simulators did not start; see {self.workdir / 'simulators.log'}")
        return self

    def fault(self, sim: str, **spec: Any) -> None:
        requests.post(f"{self.url}/{sim}/_faults", json=spec, timeout=10).raise_for_status()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@dataclass
class Hub:
    """One deployment of the hub. ``workers`` = 0: embedded (memory://, SQLite); N > 0: RabbitMQ + PostgreSQL."""
    workdir: Path
    config: Path
    sim_port: int
    workers: int = 0
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    vhost: str = ""
    database: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mode(self) -> str:
        return "embedded" if not self.workers else f"rabbitmq+postgresql/{self.workers}w"

    @property
    def store_url(self) -> str:
        return f"{PG_BASE}/{self.database}" if self.workers else f"sqlite:///{self.workdir}/hub.db"

    def start(self) -> "Hub":
        cmd = [sys.executable, str(ROOT / "run.py"), "serve", "--config", str(self.config), "--port", str(self.port),
               "--sim-port", str(self.sim_port)]
        if self.workers:
            tag = uuid.uuid4().hex[:8]
            self.vhost, self.database = f"hub_bench_{tag}", f"hub_bench_{tag}"
            subprocess.run(["rabbitmqctl", "-q", "add_vhost", self.vhost], check=True, capture_output=True, timeout=60)
            subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*"],
                           check=True, capture_output=True, timeout=60)
            with _admin().connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{self.database}"'))
            cmd += ["--transport", f"{AMQP_BASE}/{self.vhost}", "--store", self.store_url,
                    "--workers", str(self.workers)]
        else:
            cmd += ["--transport", "memory://", "--store", self.store_url]
        log = open(self.workdir / "hub.log", "ab")
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "HUB_LOG_LEVEL": "WARNING"})
        if not wait_until(lambda: requests.get(self.url + "/readyz", timeout=1).status_code == 200, 60):
            raise RuntimeError(f"hub did not start; see {self.workdir / 'hub.log'}")
        self.engine = sa.create_engine(self.store_url.replace("postgresql://", "postgresql+psycopg2://"))
        return self

    def group(self) -> Group:
        assert self.proc is not None
        return Group("hub", root=self.proc.pid)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "engine", None) is not None:
            self.engine.dispose()
        if self.workers:
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", self.vhost], capture_output=True, timeout=60)
            with _admin().connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))


def _admin() -> sa.engine.Engine:
    return sa.create_engine(f"{PG_BASE}/postgres".replace("postgresql://", "postgresql+psycopg2://"),
                            isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def deployment(scenario: Any, workers: int, prefix: str) -> Iterator[tuple["Hub", Simulators]]:
    """One scenario's simulators (with its faults) and hub, started in a fresh work folder, stopped afterwards:
    what the profile and the probes look inside."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    sims = Simulators(workdir).start()
    hub = Hub(workdir, bench_config(workdir / "config", sims.port, scenario.connectors), sims.port, workers)
    try:
        for sim, spec in scenario.faults.items():
            sims.fault(sim, **spec)
        hub.start()
        time.sleep(3)   # the workers' consumers attach after /readyz answers
        yield hub, sims
    finally:
        hub.stop()
        sims.stop()
