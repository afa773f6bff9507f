"""Starting real hub processes for end-to-end tests (the same `run.py serve` an IT centre runs)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.conftest import ROOT, free_port

TOKEN = "sandbox-demo-token"


@dataclass
class HubProc:
    proc: subprocess.Popen
    url: str
    sim_url: str
    log_path: Path
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.trust_env = False
        self.session.headers["Authorization"] = f"Bearer {TOKEN}"

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.session.post(self.url + path, timeout=30, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.url + path, timeout=30, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_hub(workdir: Path, *args: str, env: dict[str, str] | None = None, wait: float = 30) -> HubProc:
    port, sim_port = free_port(), free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "hub.log"
    cmd = [sys.executable, str(ROOT / "run.py"), "serve", "--port", str(port), "--sim-port", str(sim_port),
           "--store", f"sqlite:///{workdir}/hub.db", *args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})
    hub = HubProc(proc, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sim_port}", log_path)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"hub exited with {proc.returncode}:\n{hub.log()[-3000:]}")
        try:
            if requests.get(hub.url + "/healthz", timeout=1).status_code in (200, 503):
                return hub
        except requests.RequestException:
            time.sleep(0.2)
    hub.stop()
    raise RuntimeError(f"hub did not start in {wait}s:\n{hub.log()[-3000:]}")


def wait_until(predicate, timeout: float = 60, interval: float = 0.2):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
