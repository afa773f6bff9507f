"""The echo and webhook connectors against their simulators (the shared contract)."""
from __future__ import annotations

from hub.config.model import ClientConfig
from tests.contract.kit import ConnectorContract, SimServer, delivery_for, make_connector, simulator_server

WEBHOOK_SECRET = "sandbox-webhook-secret"


class TestEchoContract(ConnectorContract):
    connector_type = "echo"
    simulator = "echo"

    def options(self, sim: SimServer) -> dict:
        return {"url": sim.url}

    def delivery(self):
        return delivery_for("demo.ping", {"text": "Xin chào, Bà Rịa–Vũng Tàu"})

    def effects(self, sim, delivery) -> int:
        return 1 if delivery.idempotency_key in sim.app.keys else 0

    def check_reply(self, reply, delivery) -> None:
        assert reply.status == 200 and reply.partner_ref.startswith("ECHO-")
        assert reply.payload == {"text": "Xin chào, Bà Rịa–Vũng Tàu"}


class TestWebhookContract(ConnectorContract):
    connector_type = "webhook"
    simulator = "onestop"

    def options(self, sim: SimServer) -> dict:
        return {}

    def _clients(self, sim: SimServer) -> dict:
        return {"demo": ClientConfig(id="demo", name="demo", token_sha256=None, allow=("*",),
                                     agencies=("000.00.14.H20",), webhook_url=f"{sim.url}/demo/events",
                                     webhook_secret=WEBHOOK_SECRET)}

    def connector_fixture(self, sim):  # noqa: ANN001, ANN201
        return make_connector("webhook", {}, clients=self._clients(sim))

    def delivery(self):
        return delivery_for("dossier.submitted", {"agency_id": "000.00.14.H20", "dossier_code": "000.00.14.H20-231120-0001"})

    def effects(self, sim, delivery) -> int:
        return sum(1 for e in sim.app.events.get("demo", []) if e["id"] == delivery.message.id)

    # the client is chosen by agency; the base fixture builds the connector without clients, so override it
    import pytest

    @pytest.fixture
    def connector(self, sim):  # noqa: ANN001, ANN201
        conn = make_connector("webhook", {}, clients=self._clients(sim))
        yield conn
        conn.stop()

    def test_unreachable_partner_is_transient(self, sim):
        import pytest
        from hub.errors import TransientError
        clients = self._clients(SimServer("http://127.0.0.1:9/onestop", "", None))
        conn = make_connector("webhook", {}, clients=clients)
        with pytest.raises(TransientError):
            conn.send(self.delivery())


def test_webhook_signature_is_checked_by_the_client():
    """A body signed with another secret is refused by the client (the simulator verifies like a client must)."""
    import pytest
    from hub.errors import PermanentError

    with simulator_server("onestop") as sim:
        clients = {"demo": ClientConfig(id="demo", name="demo", token_sha256=None, allow=("*",),
                                        webhook_url=f"{sim.url}/demo/events", webhook_secret="another-secret")}
        conn = make_connector("webhook", {"client": "demo"}, clients=clients)
        with pytest.raises(PermanentError) as info:
            conn.send(delivery_for("demo.ping", {"text": "x"}))
        assert info.value.code == "delivery.partner_rejected"
        assert sim.app.events == {}


def test_webhook_without_a_target_client_is_permanent():
    import pytest
    from hub.errors import PermanentError

    conn = make_connector("webhook", {})
    with pytest.raises(PermanentError) as info:
        conn.send(delivery_for("demo.ping", {"text": "x"}))
    assert info.value.code == "delivery.no_webhook"
