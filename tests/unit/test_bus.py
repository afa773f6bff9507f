"""The bus topology the hub declares (it never relies on defaults)."""
from __future__ import annotations

from hub.bus import DEAD_EXCHANGE, DELIVER_EXCHANGE, delivery_queue, is_amqp, transport_options


def test_delivery_queues_are_durable_and_dead_letter():
    q = delivery_queue("dvcqg")
    assert q.name == "hub.deliver.dvcqg" and q.durable and q.routing_key == "dvcqg"
    assert q.exchange is DELIVER_EXCHANGE and DELIVER_EXCHANGE.durable and DELIVER_EXCHANGE.type == "direct"
    assert q.queue_arguments == {"x-dead-letter-exchange": DEAD_EXCHANGE.name}


def test_quorum_queues_on_a_cluster():
    assert delivery_queue("dvcqg", quorum=True).queue_arguments["x-queue-type"] == "quorum"


def test_publisher_confirms_on_rabbitmq_only():
    assert is_amqp("amqp://u:p@rabbit:5672/lgsp") and not is_amqp("memory://")
    assert transport_options("amqp://u:p@rabbit:5672/lgsp") == {"confirm_publish": True}
    assert "confirm_publish" not in transport_options("memory://")


def _backlog_case(url: str) -> None:
    import uuid

    from hub.bus import Bus
    from hub.store import DeliveryRef

    busy, idle = f"t-busy-{uuid.uuid4().hex[:6]}", f"t-idle-{uuid.uuid4().hex[:6]}"
    bus = Bus(url, [busy, idle])
    bus.declare()
    try:
        assert bus.backlogged([busy, idle]) == set()
        bus.publish([DeliveryRef("m1/r1", busy)])
        assert bus.backlogged([busy, idle, "not-a-connector"]) == {busy}
    finally:
        from kombu.pools import connections
        with connections[bus._connection].acquire(block=True, timeout=5) as conn:
            for name in (busy, idle):
                bus.queues[name](conn.default_channel).delete()
        bus.close()


def test_backlogged_queues_on_the_memory_bus():
    _backlog_case("memory://")


def test_backlogged_queues_on_rabbitmq():
    from tests.conftest import require_service
    require_service("RabbitMQ", "127.0.0.1", 5672)
    _backlog_case("amqp://guest:guest@127.0.0.1:5672//")


def test_backlogged_is_none_when_the_bus_is_away():
    from hub.bus import Bus
    assert Bus("amqp://guest:guest@127.0.0.1:1//", ["echo"]).backlogged(["echo"]) is None
