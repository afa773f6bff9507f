"""The bus topology and the publisher (kombu). The hub declares its topology itself, never trusting defaults:

* exchange ``hub.deliver`` (direct, durable); one queue ``hub.deliver.<connector>`` per connector, durable
  (quorum on a cluster), dead-lettering to ``hub.dead`` for what a consumer rejects;
* messages are persistent, JSON only, published ``mandatory`` with publisher confirms on RabbitMQ, so a
  delivery that no queue took raises instead of vanishing (reliability.md: nameko's own publisher does not).
"""
from __future__ import annotations

import json
from typing import Iterable

from kombu import Connection, Exchange, Producer, Queue
from kombu.pools import connections

from hub.store import DeliveryRef

DELIVER_EXCHANGE = Exchange("hub.deliver", type="direct", durable=True)
DEAD_EXCHANGE = Exchange("hub.dead", type="fanout", durable=True)
DEAD_QUEUE = Queue("hub.dead", exchange=DEAD_EXCHANGE, routing_key="", durable=True)
#: where client systems on the bus submit (plain AMQP; see hub/services/clients.py)
SUBMIT_EXCHANGE = Exchange("hub.submit", type="direct", durable=True)
SUBMIT_QUEUES = {kind: Queue(f"hub.submit.{kind}", exchange=SUBMIT_EXCHANGE, routing_key=kind, durable=True,
                             queue_arguments={"x-dead-letter-exchange": DEAD_EXCHANGE.name}) for kind in ("submit", "call")}
#: seconds a publish may wait for the broker's confirm before the gateway answers 503 (never hang)
PUBLISH_TIMEOUT = 5.0
#: memory:// polls; 5 ms keeps the embedded hub responsive without burning a core when idle
MEMORY_OPTIONS = {"polling_interval": 0.005}


def is_amqp(url: str) -> bool:
    return url.startswith(("amqp://", "amqps://", "pyamqp://"))


def delivery_queue(connector: str, quorum: bool = False) -> Queue:
    arguments = {"x-dead-letter-exchange": DEAD_EXCHANGE.name}
    if quorum:
        arguments["x-queue-type"] = "quorum"
    return Queue(f"hub.deliver.{connector}", exchange=DELIVER_EXCHANGE, routing_key=connector, durable=True,
                 queue_arguments=arguments)


def transport_options(url: str) -> dict:
    return {"confirm_publish": True} if is_amqp(url) else dict(MEMORY_OPTIONS)


class Bus:
    """Publishes deliveries to their connector's queue. Thread- and green-thread-safe through kombu's pools."""

    def __init__(self, url: str, connectors: Iterable[str], quorum: bool = False) -> None:
        self.url = url
        self.quorum = quorum
        self.queues = {name: delivery_queue(name, quorum) for name in connectors}
        self._connection = Connection(url, transport_options=transport_options(url), connect_timeout=5)

    def declare(self) -> None:
        with connections[self._connection].acquire(block=True, timeout=10) as conn:
            channel = conn.default_channel
            DEAD_QUEUE(channel).declare()
            # declared before any service starts, so a client never publishes to an exchange that is not there yet
            for queue in [*SUBMIT_QUEUES.values(), *self.queues.values()]:
                queue(channel).declare()

    def publish(self, refs: list[DeliveryRef]) -> None:
        if not refs:
            return
        with connections[self._connection].acquire(block=True, timeout=10) as conn:
            try:
                self._publish(conn, refs)
            except Exception:
                conn.collect()  # a broken connection must not go back to the pool: the next publish reconnects
                raise

    def _publish(self, conn: Connection, refs: list[DeliveryRef]) -> None:
        conn.ensure_connection(max_retries=1, timeout=5)
        producer = Producer(conn.default_channel)
        for ref in refs:
            producer.publish(json.dumps({"delivery": ref.id}), exchange=DELIVER_EXCHANGE, routing_key=ref.connector,
                             content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                             mandatory=is_amqp(self.url),
                             declare=[self.queues[ref.connector]] if ref.connector in self.queues else [],
                             retry=False, timeout=PUBLISH_TIMEOUT)

    def reply(self, reply_to: str, correlation_id: str | None, body: dict) -> None:
        """An answer to a bus client, to the queue it named (default exchange), JSON, not persistent."""
        with connections[self._connection].acquire(block=True, timeout=10) as conn:
            try:
                Producer(conn.default_channel).publish(
                    json.dumps(body, ensure_ascii=False), exchange="", routing_key=reply_to,
                    correlation_id=correlation_id, content_type="application/json", content_encoding="utf-8",
                    retry=False, timeout=PUBLISH_TIMEOUT)
            except Exception:
                conn.collect()
                raise

    def ping(self) -> None:
        with connections[self._connection].acquire(block=True, timeout=5) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)

    def close(self) -> None:
        self._connection.release()
