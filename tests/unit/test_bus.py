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
