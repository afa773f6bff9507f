"""Inbound events to a client system through its own durable queue on the hub's bus, instead of a webhook.

The event is the canonical message as JSON (the same body a webhook gets), published persistent, ``mandatory``
and confirmed to exchange ``hub.events`` with the client id as routing key; the queue ``hub.events.<client>`` is
declared durable by the hub. A client reads only its own queue: give each client system its own RabbitMQ user
with read permission on ``^hub\\.events\\.<client>$`` and write permission on ``^hub\\.submit$`` (README).
"""
from __future__ import annotations

import json
from typing import Any

from kombu import Connection, Exchange, Producer, Queue
from kombu.pools import connections

from hub import errors, registry
from hub.bus import PUBLISH_TIMEOUT, is_amqp, transport_options
from hub.contracts import Connector, Delivery, Health, Reply
from hub.errors import PermanentError, TransientError

EVENTS_EXCHANGE = Exchange("hub.events", type="direct", durable=True)


def client_queue(client: str) -> Queue:
    return Queue(f"hub.events.{client}", exchange=EVENTS_EXCHANGE, routing_key=client, durable=True)


@registry.connectors.register("client_queue")
class ClientQueueConnector(Connector):
    type_name = "client_queue"
    config_schema = {"type": "object", "additionalProperties": False,
                     "properties": {"client": {"type": "string"},
                                    "url": {"type": "string", "description": "bus URL; default: the hub's own"}}}

    def start(self) -> None:
        url = self.options.get("url") or getattr(self.context, "transport", "memory://")
        self._connection = Connection(url, transport_options=transport_options(url), connect_timeout=5)
        self._mandatory = is_amqp(url)

    def stop(self) -> None:
        conn = getattr(self, "_connection", None)
        if conn is not None:
            conn.release()

    def _client(self, delivery: Delivery) -> str:
        name = delivery.options.get("client") or self.options.get("client")
        if not name or name not in self.context.clients():
            raise PermanentError(errors.DLV_NO_WEBHOOK, f"no client queue for client '{name}'")
        return name

    def send(self, delivery: Delivery) -> Reply:
        client = self._client(delivery)
        message = delivery.message
        event: dict[str, Any] = {"id": message.id, "type": message.type, "subject": message.subject,
                                 "source": message.source, "correlation_id": message.correlation_id,
                                 "created_at": message.created_at.isoformat(), "payload": delivery.body}
        with connections[self._connection].acquire(block=True, timeout=10) as conn:
            try:
                conn.ensure_connection(max_retries=1, timeout=5)
                Producer(conn.default_channel).publish(
                    json.dumps(event, ensure_ascii=False), exchange=EVENTS_EXCHANGE, routing_key=client,
                    declare=[client_queue(client)], content_type="application/json", content_encoding="utf-8",
                    delivery_mode=2, mandatory=self._mandatory, retry=False, timeout=PUBLISH_TIMEOUT,
                    headers={"idempotency-key": delivery.idempotency_key, "message-id": message.id},
                    message_id=delivery.idempotency_key)
            except Exception as exc:
                conn.collect()
                raise TransientError(errors.DLV_NETWORK, f"{self.name}: bus publish failed: {type(exc).__name__}") from exc
        return Reply(status=200, partner_ref=f"hub.events.{client}")

    def check(self) -> Health:
        return Health("up", "publishes to the hub's own bus")
