"""The shared connector contract: every connector proves itself against its simulator with these tests.

Use::

    class TestEchoContract(ConnectorContract):
        connector_type = "echo"
        simulator = "echo"
        def options(self, sim_url): return {"url": f"{sim_url}/echo"}
        def delivery(self): return delivery_for("demo.ping", {"text": "xin chào"})
        def effects(self, sim, key): return sim.app.keys.get(key, 0)   # partner effects of one idempotency key

The simulator runs on a loopback port in a thread (``simulator_server``); faults are injected through its
``/_faults`` endpoint (see simulators/base.py), exactly as the e2e and fault tests do.
"""
from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
import requests
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from hub import registry
from hub.config.model import ClientConfig
from hub.contracts import Connector, Delivery, Reply
from hub.errors import PermanentError, TransientError
from hub.message import Message

registry.load_plugins()


@dataclass
class SimServer:
    url: str          # http://127.0.0.1:<port>/<simulator>
    base: str         # http://127.0.0.1:<port> (what ${sim:...} would resolve against)
    app: Any          # the simulator instance, for assertions on what it received

    def fault(self, **spec: Any) -> None:
        requests.post(f"{self.url}/_faults", json=spec, timeout=5).raise_for_status()


@contextmanager
def simulator_server(name: str, options: dict[str, Any] | None = None) -> Iterator[SimServer]:
    app = registry.simulators.get(name)(options or {})
    wsgi = DispatcherMiddleware(Response("", status=404), {f"/{name}": app})
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        yield SimServer(f"{base}/{name}", base, app)
    finally:
        server.shutdown()
        thread.join(5)


class StubContext:
    sandbox = True

    def __init__(self, clients: dict[str, ClientConfig] | None = None) -> None:
        self._clients = clients or {}

    def client(self, client_id: str) -> ClientConfig:
        return self._clients[client_id]

    def clients(self) -> dict[str, ClientConfig]:
        return dict(self._clients)

    def secret(self, reference: str) -> str:
        raise KeyError(reference)


def make_connector(type_name: str, options: dict[str, Any], name: str | None = None,
                   clients: dict[str, ClientConfig] | None = None) -> Connector:
    connector = registry.connectors.get(type_name)(name or type_name, options, StubContext(clients))
    connector.start()
    return connector


def delivery_for(message_type: str, payload: dict[str, Any], body: Any = None, route: str = "contract-route",
                 options: dict[str, Any] | None = None, attempt: int = 1, subject: str | None = None) -> Delivery:
    mid = f"contract-{uuid.uuid4().hex[:12]}"
    message = Message(id=mid, type=message_type, source="demo", payload=payload, subject=subject)
    return Delivery(id=f"{mid}/{route}", message=message, route=route, connector="under-test", attempt=attempt,
                    body=payload if body is None else body, options=options or {})


class ConnectorContract:
    """Subclass and fill in: connector_type, simulator, options(), delivery(), effects()."""

    connector_type: str = ""
    simulator: str = ""
    #: True when the partner takes an idempotency key (the simulators must, where the real partner does)
    idempotent: bool = True

    def options(self, sim: SimServer) -> dict[str, Any]:
        raise NotImplementedError

    def delivery(self) -> Delivery:
        raise NotImplementedError

    def effects(self, sim: SimServer, delivery: Delivery) -> int:
        raise NotImplementedError

    def check_reply(self, reply: Reply, delivery: Delivery) -> None:
        """Override to assert the partner's answer was read (reference, canonical reply)."""

    @pytest.fixture
    def sim(self) -> Iterator[SimServer]:
        with simulator_server(self.simulator) as server:
            yield server

    @pytest.fixture
    def connector(self, sim: SimServer) -> Iterator[Connector]:
        conn = make_connector(self.connector_type, self.options(sim))
        yield conn
        conn.stop()

    def test_delivers_and_reads_the_answer(self, connector, sim):
        delivery = self.delivery()
        reply = connector.send(delivery)
        assert isinstance(reply, Reply)
        self.check_reply(reply, delivery)
        assert self.effects(sim, delivery) == 1

    def test_same_delivery_twice_has_one_effect(self, connector, sim):
        if not self.idempotent:
            pytest.skip("this partner takes no idempotency key")
        delivery = self.delivery()
        connector.send(delivery)
        connector.send(delivery)
        assert self.effects(sim, delivery) == 1

    def test_server_error_is_transient(self, connector, sim):
        sim.fault(mode="status", status=503)
        with pytest.raises(TransientError) as info:
            connector.send(self.delivery())
        assert info.value.code in ("delivery.partner_5xx", "delivery.bad_reply", "delivery.network")

    def test_throttling_is_transient_with_retry_after(self, connector, sim):
        sim.fault(mode="status", status=429, retry_after=7)
        with pytest.raises(TransientError) as info:
            connector.send(self.delivery())
        assert info.value.code == "delivery.throttled" and info.value.retry_after == 7

    def test_client_error_is_permanent(self, connector, sim):
        sim.fault(mode="status", status=400)
        with pytest.raises(PermanentError) as info:
            connector.send(self.delivery())
        assert info.value.code.startswith("delivery.")

    def test_connection_cut_mid_answer_is_transient(self, connector, sim):
        sim.fault(mode="reset")
        with pytest.raises(TransientError) as info:
            connector.send(self.delivery())
        assert info.value.code in ("delivery.network", "delivery.timeout")

    def test_unreachable_partner_is_transient(self, sim):
        conn = make_connector(self.connector_type, self.options(SimServer("http://127.0.0.1:9/x", "http://127.0.0.1:9", None)))
        with pytest.raises(TransientError) as info:
            conn.send(self.delivery())
        assert info.value.code in ("delivery.network", "delivery.timeout")

    def test_recovers_after_faults(self, connector, sim):
        sim.fault(mode="status", status=500, count=1)
        with pytest.raises(TransientError):
            connector.send(self.delivery())
        delivery = self.delivery()
        connector.send(delivery)
        assert self.effects(sim, delivery) == 1
