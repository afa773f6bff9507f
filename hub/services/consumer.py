"""nameko's consumer, made safe for the hub (reliability.md: nameko acknowledges what it cannot decode or
crashes its consume loop on it). Here a bus message that is not JSON - pickle, YAML, garbage - is rejected
without requeue, so RabbitMQ dead-letters it to ``hub.dead`` (the queue's dead-letter exchange) and the rest
keeps flowing. A handler that raises requeues (never a silent acknowledgement).
"""
from __future__ import annotations

import logging
from functools import partial

from nameko.messaging import Consumer, QueueConsumer

log = logging.getLogger("hub.bus")


class HubQueueConsumer(QueueConsumer):
    def get_consumers(self, consumer_cls, channel):  # noqa: ANN001, ANN201 - kombu's callback signature
        consumers = super().get_consumers(partial(consumer_cls, on_decode_error=self._poison), channel)
        return consumers

    @staticmethod
    def _poison(message, exc) -> None:  # noqa: ANN001
        log.error("bus message refused (%s, content type %s): dead-lettered to hub.dead",
                  type(exc).__name__, message.content_type)
        message.reject(requeue=False)


class DeliveryConsumer(Consumer):
    queue_consumer = HubQueueConsumer()


consume_deliveries = DeliveryConsumer.decorator
