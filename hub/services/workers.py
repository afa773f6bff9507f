"""``serve --workers N``: N local worker processes consuming the connectors' queues, kept alive.

Each worker is the same `run.py serve --role worker` an IT centre would start on another machine; this only
saves them a process supervisor on a single server. A worker that dies is started again after a pause.
"""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import eventlet

log = logging.getLogger("hub.workers")
RUN_PY = str(Path(__file__).resolve().parents[2] / "run.py")
RESTART_PAUSE = 1.0


class WorkerPool:
    def __init__(self, count: int, argv: list[str], metrics_port: int | None = None) -> None:
        self.count = count
        self.argv = argv
        self.metrics_port = metrics_port   # worker i serves /metrics on metrics_port + i (0: each any free port)
        self.procs: list[subprocess.Popen | None] = [None] * count
        self._watch = None
        self._stopping = False

    def _spawn(self, index: int) -> None:
        cmd = [sys.executable, RUN_PY, "serve", "--role", "worker", *self.argv]
        if self.metrics_port is not None:   # a restarted worker keeps its port: Prometheus' target stays valid
            cmd += ["--metrics-port", str(self.metrics_port and self.metrics_port + index)]
        self.procs[index] = subprocess.Popen(cmd)
        log.info("worker %d started (pid %d)", index, self.procs[index].pid)

    def start(self) -> None:
        for i in range(self.count):
            self._spawn(i)
        self._watch = eventlet.spawn(self._supervise)

    def metrics_ports(self) -> str:
        if self.metrics_port is None:
            return ""
        if self.metrics_port == 0:
            return "any free port each (see each worker's log)"
        last = self.metrics_port + self.count - 1
        return str(self.metrics_port) if last == self.metrics_port else f"{self.metrics_port}-{last}"

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p is not None]

    def _supervise(self) -> None:
        while not self._stopping:
            eventlet.sleep(RESTART_PAUSE)
            for i, proc in enumerate(self.procs):
                if not self._stopping and proc is not None and proc.poll() is not None:
                    log.warning("worker %d (pid %d) exited with %s: starting it again", i, proc.pid, proc.returncode)
                    self._spawn(i)

    def stop(self, timeout: float = 30) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.kill()
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            if proc is None:
                continue
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
