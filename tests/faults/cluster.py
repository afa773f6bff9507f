"""A hub "cluster" on the real RabbitMQ and PostgreSQL of this machine, for the fault harness.

One gateway process (HTTP API, routing, the partner simulators) and N worker processes (dispatchers and the
scheduler), each a real `run.py serve`, sharing a fresh RabbitMQ vhost and a fresh PostgreSQL database.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa
import yaml

from tests.conftest import ROOT, free_port
from tests.faults.diagnose import diagnose
from tests.harness import TOKEN, wait_until

AMQP_BASE = "amqp://guest:guest@127.0.0.1:5672"


def rabbitmqctl(*args: str, timeout: float = 60) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=timeout)


def harness_config(target: Path, concurrency: int = 16) -> Path:
    """The sandbox config with timings scaled for tests: short timeouts, fast retries, a quick circuit breaker."""
    shutil.copytree(ROOT / "config", target)
    hub = yaml.safe_load((target / "hub.yaml").read_text(encoding="utf-8"))
    hub["hub"]["scheduler"] = {"retry_sweep_interval": "0.2s"}
    (target / "hub.yaml").write_text(yaml.safe_dump(hub, allow_unicode=True), encoding="utf-8")
    conns = yaml.safe_load((target / "connectors.yaml").read_text(encoding="utf-8"))
    for name in ("echo", "onestop"):
        conns["connectors"][name].update({"timeout": "2s", "concurrency": concurrency,
                                          "circuit": {"failures": 5, "open_for": "0.5s", "max_open_for": "2s"}})
    (target / "connectors.yaml").write_text(yaml.safe_dump(conns, allow_unicode=True), encoding="utf-8")
    routes = yaml.safe_load((target / "routes.yaml").read_text(encoding="utf-8"))
    fast = {"max_attempts": 60, "backoff": "0.2s", "multiplier": 1.5, "max_backoff": "2s", "jitter": 0.2, "max_age": "10m"}
    for route in routes["routes"]:
        if route["name"] in ("demo-ping-to-echo", "demo-ping-notify-client"):
            route["retry"] = dict(fast)
            route.pop("tests", None)
        if route["name"] == "demo-ping-to-echo":
            route["steps"] = [{"transform": "demo_ping"}]
    (target / "routes.yaml").write_text(yaml.safe_dump(routes, allow_unicode=True), encoding="utf-8")
    return target


@dataclass
class Cluster:
    workdir: Path
    pg_url: str
    vhost: str = field(default_factory=lambda: f"hub_fault_{uuid.uuid4().hex[:8]}")
    port: int = field(default_factory=free_port)
    sim_port: int = field(default_factory=free_port)
    gateway: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)
    concurrency: int = 16

    @property
    def amqp(self) -> str:
        return f"{AMQP_BASE}/{self.vhost}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    def setup(self) -> "Cluster":
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        self.config = harness_config(self.workdir / "config", self.concurrency)
        self.engine = sa.create_engine(self.pg_url.replace("postgresql://", "postgresql+psycopg2://"))
        return self

    def _spawn(self, role: str, name: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        cmd = [sys.executable, str(ROOT / "run.py"), "serve", "--role", role, "--config", str(self.config),
               "--port", str(self.port), "--sim-port", str(self.sim_port)]
        environ = {**os.environ, "HUB_TRANSPORT": self.amqp, "HUB_STORE": self.pg_url, **(env or {})}
        return subprocess.Popen(cmd, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=environ)

    def start(self, workers: int = 1, worker_env: dict[str, str] | None = None) -> "Cluster":
        self.gateway = self._spawn("gateway", "gateway")
        ok = wait_until(lambda: self._healthy(), timeout=40)
        assert ok, f"gateway did not start:\n{self.log('gateway')[-3000:]}"
        for _ in range(workers):
            self.add_worker(worker_env)
        return self

    def add_worker(self, env: dict[str, str] | None = None) -> subprocess.Popen:
        proc = self._spawn("worker", f"worker{len(self.workers)}", env)
        self.workers.append(proc)
        return proc

    def _healthy(self) -> bool:
        try:
            return requests.get(self.url + "/healthz", timeout=1).status_code in (200, 503)
        except requests.RequestException:
            return False

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill_worker(self, index: int = 0) -> None:
        self.workers[index].send_signal(signal.SIGKILL)
        self.workers[index].wait(10)

    def stop(self) -> None:
        for proc in [*self.workers, self.gateway]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.gateway]:
            if proc is not None:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.engine.dispose()
        try:
            rabbitmqctl("delete_vhost", self.vhost)
        except subprocess.CalledProcessError:
            pass

    # --- the load and the counting -------------------------------------------------------------
    def submit(self, ids: list[str], text: str = "notify: hồ sơ {id}", clients: int = 10,
               deadline: float = 120) -> set[str]:
        """Send each id until the hub accepts it (503 is retried with the same id, as clients must)."""
        bodies = [{"id": mid, "type": "demo.ping", "payload": {"text": text.format(id=mid), "seq": 1}} for mid in ids]
        return self.post_in_order([bodies[i::clients] for i in range(clients)], deadline)

    def post_in_order(self, streams: list[list[dict]], deadline: float = 120) -> set[str]:
        """One client per stream, each posting its messages (with ids) one after the other, a message only once the
        previous one was accepted; 503 is retried with the same id, as clients must. Returns the accepted ids."""
        def send(stream: list[dict]) -> set[str]:
            session = requests.Session()
            session.trust_env = False
            session.headers["Authorization"] = f"Bearer {TOKEN}"
            accepted = set()
            for body in stream:
                end = time.monotonic() + deadline
                while time.monotonic() < end:
                    try:
                        r = session.post(self.url + "/v1/messages", json=body, timeout=15)
                    except requests.RequestException:
                        time.sleep(0.2)
                        continue
                    if r.status_code == 202:
                        accepted.add(body["id"])
                        break
                    assert r.status_code == 503, f"{body['id']}: unexpected {r.status_code} {r.text[:300]}"
                    time.sleep(min(float(r.headers.get("Retry-After", 1)), 1))
            return accepted

        with ThreadPoolExecutor(len(streams)) as pool:
            return set().union(*pool.map(send, streams))

    def states(self) -> dict[str, dict[str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT message_id, route, state FROM deliveries")).all()
        out: dict[str, dict[str, str]] = {}
        for mid, route, state in rows:
            out.setdefault(mid, {})[route] = state
        return out

    def drain(self, ids: set[str], timeout: float = 180) -> dict[str, dict[str, str]]:
        def settled():
            states = self.states()
            return all(mid in states and all(s in ("delivered", "dead") for s in states[mid].values())
                       for mid in ids) and states
        return wait_until(settled, timeout=timeout, interval=0.5) or self.states()

    def echo_keys(self) -> dict[str, int]:
        return requests.get(self.sim_url + "/echo/_stats", timeout=30).json()["keys"]

    def client_events(self) -> list[dict]:
        return requests.get(self.sim_url + "/onestop/demo/events", timeout=30).json()

    def fault(self, **spec) -> None:
        requests.post(self.sim_url + "/echo/_faults", json=spec, timeout=10).raise_for_status()


@dataclass
class Verdict:
    accepted: int
    lost: list[str]
    unexpected: list[str]
    echo_effects_not_one: dict[str, int]
    client_effects_not_one: dict[str, int]
    dead: list[str]

    def report(self) -> str:
        return (f"accepted={self.accepted} lost={len(self.lost)} unexpected={len(self.unexpected)} "
                f"echo effects!=1: {len(self.echo_effects_not_one)} client effects!=1: {len(self.client_effects_not_one)} "
                f"dead={len(self.dead)}")


def count(cluster: Cluster, accepted: set[str], expect_dead: set[str] = frozenset(), fan_out: bool = True,
          client_ids: set[str] | None = None) -> Verdict:
    """Jepsen-style counting: lost = accepted with no terminal state; unexpected = states nobody asked for;
    partner effects per id from the simulators (which apply each idempotency key once)."""
    states = cluster.drain(accepted)
    lost = sorted(m for m in accepted if m not in states or any(s not in ("delivered", "dead") for s in states[m].values()))
    if lost:  # did not settle: print what a developer needs to find out why (shown with the failure)
        report = diagnose(cluster)
        print(report)
        # also past pytest's capture, so it reaches the CI log even when a rerun of the test then passes
        sys.__stderr__.write(f"\n=== fault run did not settle: {len(lost)} lost ===\n{report[-20000:]}\n")
    unexpected = sorted(m for m in states if m not in accepted)
    dead = sorted(m for m in accepted if m in states and any(s == "dead" for s in states[m].values()))
    keys = cluster.echo_keys()
    # the echo simulator applies a key once: an id is "in effect" when its key is known; >1 would show as extra keys
    echo = {m: (1 if f"{m}/demo-ping-to-echo" in keys else 0) for m in accepted if m not in expect_dead}
    events: dict[str, int] = {}
    if fan_out:
        for e in cluster.client_events():
            events[e["id"]] = events.get(e["id"], 0) + 1
    client = {m: events.get(m, 0) for m in (accepted if client_ids is None else client_ids)} if fan_out else {}
    return Verdict(len(accepted), lost, unexpected, {m: n for m, n in echo.items() if n != 1},
                   {m: n for m, n in client.items() if n != 1}, [d for d in dead if d not in expect_dead])
