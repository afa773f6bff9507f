"""The VNPost connector against its simulator: the shared contract, token renewal, the status lifecycle by
poll and by webhook, a late status recorded but not applied, cancellation."""
from __future__ import annotations

import json
import uuid
from typing import Iterator

import pytest

from hub import registry
from hub.contracts import InboundRequest
from hub.store import Store
from tests.contract.kit import ConnectorContract, SimServer, StubContext, delivery_for, simulator_server

OPTIONS = {"username": "lgsp-sandbox", "password": "sandbox-vnpost-password", "customer_code": "KH-LGSP-H20",
           "contract_code": "HD-2024-01", "poll_interval": 0, "webhook_token": "sandbox-vnpost-webhook"}
FIXTURE = json.loads(open("tests/fixtures/messages/postal.deliver.json", encoding="utf-8").read())


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path_factory.mktemp('postal')}/hub.db")
    s.migrate()
    yield s
    s.close()


def build(url: str, store: Store, **extra):  # noqa: ANN003, ANN201
    context = StubContext()
    context.store = store
    connector = registry.connectors.get("vnpost")("vnpost", {**OPTIONS, "url": url, **extra}, context)
    connector.start()
    return connector


def deliver():  # noqa: ANN201
    return delivery_for("postal.deliver", FIXTURE)


class TestVnpostContract(ConnectorContract):
    connector_type = "vnpost"
    simulator = "vnpost"

    @pytest.fixture
    def connector(self, sim, store):  # noqa: ANN001, ANN201
        conn = build(sim.url, store)
        yield conn
        conn.stop()

    def options(self, sim: SimServer) -> dict:
        return {**OPTIONS, "url": sim.url}

    def delivery(self):
        return deliver()

    def effects(self, sim, delivery) -> int:
        return sum(1 for o in sim.app.orders.values() if o["partnerOrderCode"] == delivery.idempotency_key[-50:])

    def check_reply(self, reply, delivery) -> None:
        assert reply.payload["tracking_number"].startswith("EP") and reply.payload["total_fee"] == 16000

    def test_unreachable_partner_is_transient(self, sim, store):  # noqa: ANN001
        from hub.errors import TransientError
        with pytest.raises(TransientError):
            build("http://127.0.0.1:9/x", store).send(deliver())


def test_token_is_cached_and_renewed_when_refused(store):
    with simulator_server("vnpost") as sim:
        conn = build(sim.url, store)
        conn.send(deliver())
        conn.send(deliver())
        assert sim.app.tokens_issued == 1
        sim.app.tokens.clear()            # VNPost forgot the token early: one 401, one renewal, the order goes through
        assert conn.send(deliver()).payload["tracking_number"]
        assert sim.app.tokens_issued == 2


def test_wrong_credentials_are_permanent(store):
    from hub.errors import PermanentError
    with simulator_server("vnpost") as sim:
        with pytest.raises(PermanentError) as info:
            build(sim.url, store, password="wrong").send(deliver())
        assert info.value.code == "postal.auth_failed"


def test_lifecycle_by_poll_then_a_late_webhook_is_recorded_not_applied(store):
    with simulator_server("vnpost", {"step_seconds": 0}) as sim:
        conn = build(sim.url, store)
        tracking = conn.send(deliver()).payload["tracking_number"]
        messages = conn.poll()
        assert [m.payload["status_code"] for m in messages] == [4, 6, 10, 12, 14, 19]
        assert all(m.type == "postal.status" and m.payload["dossier_code"] == FIXTURE["dossier_code"] for m in messages)
        assert conn.poll() == [], "statuses already heard are not sent again"
        assert conn.repo.get(tracking)["status_code"] == 19
        late = {"itemCode": tracking, "statusCode": 10, "statusName": "Đang vận chuyển", "createdDate": "01/01/2024",
                "createHour": "08:00:00"}
        request = InboundRequest("POST", "/v1/inbound/vnpost", {"token": OPTIONS["webhook_token"]}, {},
                                 json.dumps(late).encode())
        out, response = conn.inbound(request)
        assert out == [] and response.status == 200
        assert conn.repo.get(tracking)["status_code"] == 19


def test_webhook_moves_forward_and_needs_the_token(store):
    with simulator_server("vnpost", {"step_seconds": 3600}) as sim:
        conn = build(sim.url, store)
        tracking = conn.send(deliver()).payload["tracking_number"]
        status = {"itemCode": tracking, "statusCode": 4, "statusName": "Đang lấy hàng", "createdDate": "23/11/2030",
                  "createHour": "09:15"}
        bad = InboundRequest("POST", "/v1/inbound/vnpost", {"token": "guess"}, {}, json.dumps(status).encode())
        assert conn.inbound(bad)[1].status == 401
        good = InboundRequest("POST", "/v1/inbound/vnpost", {"Token": OPTIONS["webhook_token"]}, {},
                              json.dumps(status).encode())
        [message], response = conn.inbound(good)
        assert message.payload["status_code"] == 4 and message.payload["at"] == "2030-11-23T09:15:00+07:00"
        assert conn.inbound(good)[0] == [], "the same status twice is one message"


def test_cancel_before_collection(store):
    from hub.errors import PermanentError
    with simulator_server("vnpost", {"step_seconds": 3600}) as sim:
        conn = build(sim.url, store)
        tracking = conn.send(deliver()).payload["tracking_number"]
        conn.cancel(tracking)
        assert conn.repo.get(tracking)["final"] and conn.repo.get(tracking)["status_code"] == 22
    with simulator_server("vnpost", {"step_seconds": 0}) as sim:
        conn = build(sim.url, store)
        tracking = conn.send(deliver()).payload["tracking_number"]
        with pytest.raises(PermanentError):
            conn.cancel(tracking)
