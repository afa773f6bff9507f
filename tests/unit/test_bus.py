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


# --- one bus message per connector per burst ---------------------------------------------------------------------

def test_a_burst_travels_as_one_bus_message_per_connector_in_order_and_bounded():
    from hub.bus import bus_messages
    from hub.store import DeliveryRef

    refs = [DeliveryRef(f"m{i}/r", "echo" if i % 3 else "dvcqg") for i in range(40)]
    messages = bus_messages(refs, limit=16)
    echo = [ids for c, ids in messages if c == "echo"]
    dvcqg = [ids for c, ids in messages if c == "dvcqg"]
    assert [len(ids) for ids in echo] == [16, 10] and [len(ids) for ids in dvcqg] == [14]
    assert sum(echo, []) == [f"m{i}/r" for i in range(40) if i % 3], "each connector's deliveries in order"
    assert bus_messages([]) == []


def test_a_bus_message_names_one_delivery_or_several():
    from hub.bus import delivery_ids, encode
    import json

    assert json.loads(encode(["a/r"])) == {"delivery": "a/r"}   # one: the form every earlier hub published
    assert delivery_ids(json.loads(encode(["a/r"]))) == ["a/r"]
    assert delivery_ids(json.loads(encode(["a/r", "b/r"]))) == ["a/r", "b/r"]
    for malformed in (None, [], "a/r", {}, {"delivery": 3}, {"deliveries": "a/r"}):
        assert delivery_ids(malformed) == []
    assert delivery_ids({"deliveries": ["a/r", 7, None]}) == ["a/r"]


def test_a_burst_no_queue_took_fails_every_delivery_it_carries_and_only_those():
    """mandatory: RabbitMQ returns the whole bus message; each caller of the burst hears about its own."""
    import threading
    import uuid

    from kombu import Connection

    from hub.bus import Bus, delivery_ids
    from hub.store import DeliveryRef
    from tests.conftest import require_service
    require_service("RabbitMQ", "127.0.0.1", 5672)
    url = "amqp://guest:guest@127.0.0.1:5672//"
    name = f"t-burst-{uuid.uuid4().hex[:6]}"
    bus = Bus(url, [name])
    bus.declare()
    results: dict[int, object] = {}
    gate = threading.Barrier(4)

    def caller(i: int) -> None:
        gate.wait()
        target = "no-such-queue" if i == 2 else name
        try:
            bus.publish([DeliveryRef(f"x{i}/{j}", target) for j in range(3)])
            results[i] = None
        except Exception as exc:  # noqa: BLE001
            results[i] = exc
    try:
        threads = [threading.Thread(target=caller, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert isinstance(results[2], Exception) and [results[i] for i in (0, 1, 3)] == [None] * 3
        with Connection(url) as conn:
            queue = bus.queues[name](conn.default_channel)
            seen = []
            while (msg := queue.get(no_ack=True)) is not None:
                seen.extend(delivery_ids(msg.payload))
            queue.delete()
        assert sorted(seen) == sorted(f"x{i}/{j}" for i in (0, 1, 3) for j in range(3))
    finally:
        bus.close()
