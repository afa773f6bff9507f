"""``serve --workers 1 --metrics-port P`` on RabbitMQ: the delivery happens in the worker process, and Prometheus
can read it there, at P/metrics, while the gateway's /metrics (another process) never saw the attempt."""
from __future__ import annotations

import subprocess
import uuid

import pytest
import requests

from tests.conftest import free_port, require_service
from tests.harness import start_hub, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.amqp]
DELIVERED = 'hub_delivery_attempts_total{code="",connector="echo",outcome="delivered"}'


@pytest.fixture
def vhost():
    require_service("RabbitMQ", "127.0.0.1", 5672)
    name = f"hub_metrics_{uuid.uuid4().hex[:8]}"   # a vhost of its own: no other test's worker takes our deliveries
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True, capture_output=True, timeout=60)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"], check=True,
                   capture_output=True, timeout=60)
    yield f"amqp://guest:guest@127.0.0.1:5672/{name}"
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], capture_output=True, timeout=60)


def scrape(url: str) -> str:
    try:
        r = requests.get(url, timeout=2)
        return r.text if r.status_code == 200 else ""
    except requests.RequestException:
        return ""


def test_worker_processes_expose_their_delivery_metrics(tmp_path, vhost):
    port = free_port()
    hub = start_hub(tmp_path, "--transport", vhost, "--workers", "1", "--metrics-port", str(port))
    try:
        worker = f"http://127.0.0.1:{port}/metrics"
        assert wait_until(lambda: scrape(worker), timeout=40), hub.log()[-3000:]
        mid = f"wm-{uuid.uuid4().hex[:8]}"
        r = hub.post("/v1/messages", json={"id": mid, "type": "demo.ping", "payload": {"text": "x", "seq": 1}})
        assert r.status_code == 202, r.text
        assert wait_until(lambda: all(d["state"] == "delivered"
                                      for d in hub.get(f"/v1/messages/{mid}").json()["deliveries"]), timeout=40)
        assert wait_until(lambda: DELIVERED in scrape(worker), timeout=10), scrape(worker)[-2000:]
        text = scrape(worker)
        assert "hub_delivery_attempt_seconds_bucket" in text and mid not in text
        assert "hub_deliveries{" not in text                      # the queue depths are the gateway's
        assert DELIVERED not in hub.get("/metrics").text           # the gateway never ran the attempt
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["status"] == "ok"
        assert "metrics on ports" in hub.log()
    finally:
        hub.stop()
