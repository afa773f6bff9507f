"""Metrics of worker processes (``serve --role worker --metrics-port P``): the endpoint's app, what a worker exports
(its own counters and circuits, not the store's shared figures), and the ports given to ``--workers N`` children.
The real processes on RabbitMQ: tests/e2e/test_worker_metrics_e2e.py."""
from __future__ import annotations

import pytest
from werkzeug.test import Client

from hub import metrics
from hub.cli import build_parser
from hub.config import load_config
from hub.runtime import HubRuntime
from hub.services import workers
from hub.services.runner import metrics_app


@pytest.fixture
def runtime(config_dir, tmp_path):
    rt = HubRuntime(load_config(config_dir, overrides={"store": f"sqlite:///{tmp_path}/hub.db"}))
    rt.store.migrate()
    yield rt
    rt.store.close()


def test_a_worker_exports_its_own_figures_and_not_the_shared_ones(runtime):
    client = Client(metrics_app())
    metrics.attach(runtime, shared=False)
    metrics.record_attempt("echo", "delivered", None, 0.03)
    page = client.get("/metrics")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/plain")
    assert 'hub_delivery_attempts_total{code="",connector="echo",outcome="delivered"}' in page.text
    assert 'hub_delivery_attempt_seconds_bucket{connector="echo"' in page.text
    assert "# TYPE hub_circuit_state gauge" in page.text
    # queue depths, dead letters waiting, store up and certificates: the gateway's, never counted N times
    for shared in ("hub_deliveries{", "hub_dead_letters_waiting", "hub_store_up", "hub_certificate_days_left"):
        assert shared not in page.text
    assert client.get("/healthz").json["status"] == "ok"
    assert client.get("/ui").status_code == 404 and client.post("/metrics").status_code == 404
    metrics.attach(runtime)                                      # the gateway's: everything
    assert "hub_store_up 1.0" in Client(metrics_app()).get("/metrics").text


def test_each_local_worker_gets_its_own_metrics_port(monkeypatch):
    started: list[list[str]] = []

    class FakeProc:
        pid = 1

        def __init__(self, cmd: list[str]) -> None:
            started.append(cmd)

    monkeypatch.setattr(workers.subprocess, "Popen", FakeProc)
    pool = workers.WorkerPool(3, ["--config", "c"], metrics_port=9310)
    for i in range(3):
        pool._spawn(i)
    pool._spawn(1)                                               # restarted after a crash: the same port
    ports = [cmd[cmd.index("--metrics-port") + 1] for cmd in started]
    assert ports == ["9310", "9311", "9312", "9311"] and pool.metrics_ports() == "9310-9312"
    started.clear()
    workers.WorkerPool(2, [], metrics_port=0)._spawn(1)
    assert started[0][-2:] == ["--metrics-port", "0"]             # 0: each a free port of its own
    started.clear()
    workers.WorkerPool(2, [])._spawn(0)
    assert "--metrics-port" not in started[0]                    # off unless asked


def test_serve_option():
    assert build_parser().parse_args(["serve", "--role", "worker", "--metrics-port", "9310"]).metrics_port == 9310
    assert build_parser().parse_args(["serve"]).metrics_port is None
