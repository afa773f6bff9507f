"""The fault harness's diagnosis (printed when a run does not settle) really shows where each process waits."""
from __future__ import annotations

import pytest

from tests.conftest import require_service
from tests.faults.cluster import Cluster
from tests.faults.diagnose import diagnose
from tests.harness import wait_until

pytestmark = pytest.mark.amqp


def test_diagnosis_has_every_process_green_threads(tmp_path, pg_url):
    require_service("RabbitMQ", "127.0.0.1", 5672)
    cluster = Cluster(tmp_path, pg_url).setup()
    try:
        cluster.start(workers=1)
        assert wait_until(lambda: "LGSP hub is running" in cluster.log("worker0"), timeout=60)
        report = diagnose(cluster)
    finally:
        cluster.stop()
    assert report.startswith("unfinished deliveries: none")
    for name in ("gateway", "worker0"):
        section = report.split(f"--- {name} (running)")[1].split("---")[0]
        assert "green thread dump" in section and "hub.diagnostics" in section, report[:3000]
    assert "drain_events" in report or "consume" in report, "a worker's consumer shows where it waits for the bus"
