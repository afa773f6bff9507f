"""A worker started while the broker is unreachable waits for it and then works (hub/startup.py).

The broker is made reachable late through a loopback TCP relay that starts listening only after the worker has
tried and failed, so this does not need to stop the machine's RabbitMQ.
"""
from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.conftest import free_port, require_service
from tests.faults.cluster import AMQP_BASE, Cluster, count
from tests.harness import wait_until

pytestmark = pytest.mark.amqp


class Relay:
    """Forwards 127.0.0.1:<port> to RabbitMQ, once started."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stopped = threading.Event()

    def start(self) -> "Relay":
        self.server = socket.create_server(("127.0.0.1", self.port))
        self.server.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.server.accept()
            except socket.timeout:
                continue
            upstream = socket.create_connection(("127.0.0.1", 5672))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self.stopped.set()
        self.server.close()


def test_a_worker_started_before_the_broker_waits_for_it_then_delivers(tmp_path, pg_url):
    require_service("RabbitMQ", "127.0.0.1", 5672)
    cluster = Cluster(tmp_path, pg_url).setup()
    relay_port = free_port()
    relay = None
    try:
        cluster.start(workers=0)
        late_bus = cluster.amqp.replace(AMQP_BASE, f"amqp://guest:guest@127.0.0.1:{relay_port}")
        worker = cluster.add_worker({"HUB_TRANSPORT": late_bus})
        assert wait_until(lambda: "the bus is not reachable" in cluster.log("worker0"), timeout=60), \
            cluster.log("worker0")[-3000:]
        time.sleep(2)
        assert worker.poll() is None, "the worker waits instead of exiting"
        accepted = cluster.submit([f"early-{i}" for i in range(50)])
        relay = Relay(relay_port).start()
        verdict = count(cluster, accepted)
        assert verdict.lost == [] and verdict.echo_effects_not_one == {}, verdict.report()
    finally:
        cluster.stop()
        if relay is not None:
            relay.stop()
