"""The bus topology and the publisher (kombu). The hub declares its topology itself, never trusting defaults:

* exchange ``hub.deliver`` (direct, durable); one queue ``hub.deliver.<connector>`` per connector, durable
  (quorum on a cluster), dead-lettering to ``hub.dead`` for what a consumer rejects;
* messages are persistent, JSON only, published ``mandatory`` with publisher confirms on RabbitMQ, so a
  delivery that no queue took raises instead of vanishing (reliability.md: nameko's own publisher does not);
* one bus message carries the deliveries of one connector published together: ``{"delivery": id}`` for one,
  ``{"deliveries": [id, ...]}`` (at most ``BATCH_LIMIT``) for the deliveries of concurrent accepts published in
  one burst. Each is still its own delivery in the store (claimed, attempted and recorded alone); the bus message
  is acknowledged once all of them are recorded. The broker's work - a persistent write, a confirm, a delivery to
  a consumer, an ack - is then paid once per burst instead of once per delivery (bench/README.md).
"""
from __future__ import annotations

import json
import time
import weakref
from typing import Any, Iterable

from amqp import Message as AmqpMessage
from amqp.exceptions import MessageNacked
from kombu import Connection, Exchange, Producer, Queue
from kombu.common import maybe_declare
from kombu.pools import connections

from hub.combine import Combiner
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
#: deliveries one bus message carries at most. A dispatcher works on up to twice its connector's ``concurrency`` of
#: them at once whatever the bursts (hub/services/dispatcher.py), but its prefetch counts bus messages: the limit
#: bounds what one worker takes from the queue ahead of what it can start (16 x its prefetch at most), so other
#: workers still share a backlog and a prefetched delivery waits seconds, not minutes, for its claim
BATCH_LIMIT = 16


def delivery_ids(body: Any) -> list[str]:
    """The delivery ids one bus message carries (``{"delivery": id}`` or ``{"deliveries": [...]}``); empty when it
    names none (such a message is logged and dropped by the dispatcher: nothing to claim)."""
    if not isinstance(body, dict):
        return []
    if isinstance(body.get("deliveries"), list):
        return [d for d in body["deliveries"] if isinstance(d, str)]
    return [body["delivery"]] if isinstance(body.get("delivery"), str) else []


def bus_messages(refs: Iterable[DeliveryRef], limit: int = BATCH_LIMIT) -> list[tuple[str, list[str]]]:
    """(connector, delivery ids) per bus message: the deliveries of one connector together, in the order given,
    at most ``limit`` per message."""
    grouped: dict[str, list[str]] = {}
    for ref in refs:
        grouped.setdefault(ref.connector, []).append(ref.id)
    return [(connector, ids[i:i + limit]) for connector, ids in grouped.items() for i in range(0, len(ids), limit)]


def encode(ids: list[str]) -> bytes:
    return json.dumps({"delivery": ids[0]} if len(ids) == 1 else {"deliveries": ids}).encode()


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
        # RabbitMQ: concurrent publishes go out in one burst and wait for their confirms together (hub/combine.py)
        self._bursts: Combiner[list[DeliveryRef], None] = Combiner(self._publish_burst)
        self._confirms: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # AMQP connection -> _Confirms

    def declare(self) -> None:
        with connections[self._connection].acquire(block=True, timeout=10) as conn:
            channel = conn.default_channel
            DEAD_QUEUE(channel).declare()
            # declared before any service starts, so a client never publishes to an exchange that is not there yet
            for queue in [*SUBMIT_QUEUES.values(), *self.queues.values()]:
                queue(channel).declare()

    def publish(self, refs: list[DeliveryRef]) -> None:
        """Returns once every one of ``refs`` is on its queue (confirmed by RabbitMQ); raises otherwise."""
        if not refs:
            return
        if is_amqp(self.url):
            self._bursts.submit(refs)
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
        for connector, ids in bus_messages(refs):
            producer.publish(encode(ids), exchange=DELIVER_EXCHANGE, routing_key=connector,
                             content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                             mandatory=is_amqp(self.url),
                             declare=[self.queues[connector]] if connector in self.queues else [],
                             retry=False, timeout=PUBLISH_TIMEOUT)

    def _publish_burst(self, batch: list[list[DeliveryRef]]) -> list[Exception | None]:
        """The publishes of concurrent callers, pipelined; each caller hears about its own deliveries."""
        refs = [ref for refs in batch for ref in refs]
        with connections[self._connection].acquire(block=True, timeout=10) as conn:
            try:
                conn.ensure_connection(max_retries=1, timeout=5)
                failed = self._confirmed(conn, refs)
            except Exception:
                conn.collect()  # a broken connection must not go back to the pool: the next publish reconnects
                raise
        return [next((failed[r.id] for r in refs if r.id in failed), None) for refs in batch]

    def _confirmed(self, conn: Connection, refs: list[DeliveryRef]) -> dict[str, Exception]:
        """Publish all, then wait for all the confirms (one round trip instead of one per publish). Persistent,
        ``mandatory``: a delivery no queue took comes back as a failure. Raises when the broker does not confirm
        within PUBLISH_TIMEOUT (the connection is then dropped: what it still owes is unknown)."""
        raw = conn.connection
        confirms = self._confirms.get(raw)
        if confirms is None or not confirms.channel.is_open:
            confirms = self._confirms[raw] = _Confirms(raw)
        for connector in {ref.connector for ref in refs if ref.connector in self.queues}:
            maybe_declare(self.queues[connector], conn.default_channel)
        confirms.failed = {}
        for connector, ids in bus_messages(refs):
            confirms.publish(connector, ids)
        deadline = time.monotonic() + PUBLISH_TIMEOUT
        while confirms.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the broker did not confirm {len(confirms.pending)} publishes "
                                   f"within {PUBLISH_TIMEOUT:g} s")
            raw.drain_events(timeout=remaining)
        return confirms.failed

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

    def backlogged(self, connectors: Iterable[str]) -> set[str] | None:
        """Connectors whose queue still holds messages ready for a consumer (None when the bus cannot say).

        The recovery sweep uses it: a pending delivery of such a connector may simply be waiting its turn in the
        queue, and publishing it again would only add a duplicate to the backlog, which slows the consumers,
        which makes more deliveries look stale - a loop that can stall a loaded hub."""
        names = [c for c in connectors if c in self.queues]
        try:
            with connections[self._connection].acquire(block=True, timeout=5) as conn:
                try:
                    conn.ensure_connection(max_retries=1, timeout=3)
                    channel = conn.default_channel
                    return {name for name in names
                            if self.queues[name](channel).queue_declare(passive=True).message_count > 0}
                except Exception:
                    conn.collect()
                    raise
        except Exception:  # noqa: BLE001 - the bus being away is reported by /readyz; the sweep decides without it
            return None

    def ping(self) -> None:
        with connections[self._connection].acquire(block=True, timeout=5) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)

    def close(self) -> None:
        self._connection.release()


class _Confirms:
    """A channel of one AMQP connection in confirm mode that publishes without waiting. The broker numbers the
    channel's publishes 1, 2, 3...; its acks and nacks name those numbers (``multiple``: all up to it); a
    ``mandatory`` publish that no queue took comes back (basic.return) before its ack."""

    def __init__(self, raw) -> None:  # noqa: ANN001 - py-amqp's Connection
        self.channel = raw.channel()
        self.channel.basic_publish = self.channel._basic_publish  # the confirm-mode one would wait for each ack
        self.channel.confirm_select()
        self.seq = 0
        self.pending: dict[int, list[str]] = {}  # publish number -> the delivery ids it carries
        self.failed: dict[str, Exception] = {}  # delivery id -> why it is not on its queue
        self.channel.events["basic_ack"].add(self._ack)
        self.channel.events["basic_nack"].add(self._nack)
        self.channel.events["basic_return"].add(self._returned)

    def publish(self, connector: str, ids: list[str]) -> None:
        message = AmqpMessage(encode(ids), content_type="application/json", content_encoding="utf-8",
                              delivery_mode=2)
        self.channel.basic_publish(message, exchange=DELIVER_EXCHANGE.name, routing_key=connector,
                                   mandatory=True, timeout=PUBLISH_TIMEOUT)
        self.seq += 1
        self.pending[self.seq] = ids

    def _settled(self, tag: int, multiple: bool) -> list[str]:
        tags = [t for t in self.pending if t <= tag] if multiple else [tag]
        return [did for ids in (self.pending.pop(t, None) for t in tags) if ids for did in ids]

    def _ack(self, tag: int, multiple: bool) -> None:
        self._settled(tag, multiple)

    def _nack(self, tag: int, multiple: bool) -> None:
        for did in self._settled(tag, multiple):
            self.failed[did] = MessageNacked(f"the broker refused delivery {did}")

    def _returned(self, exc: Exception, exchange: str, routing_key: str, message) -> None:  # noqa: ANN001
        try:
            ids = delivery_ids(json.loads(message.body))
        except ValueError:
            return
        for did in ids:
            self.failed[did] = exc
