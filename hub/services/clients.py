"""Client systems on the bus, besides HTTP (issue 3 item 8).

* **nameko RPC** (Python clients): service ``lgsp_hub``, methods ``submit(token, envelope)`` and
  ``call(token, envelope)``, each returning ``{"status": <http-like code>, "body": {...}}``.
* **Plain AMQP** (Java, .NET): publish the envelope as JSON to exchange ``hub.submit`` with routing key
  ``submit`` or ``call``, header ``authorization: Bearer <token>``, ``content_type: application/json``, and
  ``reply_to`` + ``correlation_id`` to get the answer (the same body as over HTTP, plus ``status_code``, the
  HTTP status the same request would have had).

Either way the client is who its token says, never what a header claims: a client-supplied ``source`` or
``x-client`` header is ignored.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from nameko.rpc import rpc

from hub.bus import SUBMIT_QUEUES
from hub.errors import HubError
from hub.ids import REPLY_QUEUE
from hub.runtime import HubRuntime
from hub.services.consumer import DeliveryConsumer
from hub.services.deps import Runtime

log = logging.getLogger("hub.clients")


class ClientRequestConsumer(DeliveryConsumer):
    """Hands the handler the AMQP properties too (nameko gives only the body): reply_to, correlation_id, headers."""

    def handle_message(self, body, message):  # noqa: ANN001, ANN201 - nameko's signature
        props = {"headers": dict(message.headers or {}), "reply_to": message.properties.get("reply_to"),
                 "correlation_id": message.properties.get("correlation_id")}
        handle_result = lambda worker_ctx, result=None, exc_info=None: (  # noqa: E731
            self.handle_message_processed(message, result, exc_info), (result, exc_info))[1]
        self.container.spawn_worker(self, (body, props), {}, context_data={}, handle_result=handle_result)


def _authorization(headers: dict[str, Any]) -> str | None:
    for key, value in headers.items():
        if str(key).lower() == "authorization" and isinstance(value, (str, bytes)):
            return value.decode() if isinstance(value, bytes) else value
    return None


def make_client_services(runtime: HubRuntime) -> list[type]:
    class HubRpc:
        name = "lgsp_hub"
        hub = Runtime(runtime)

        @rpc
        def submit(self, token: str, envelope: dict) -> dict:
            answer = self.hub.gateway.answer(f"Bearer {token}", envelope, call=False)
            return {"status": answer.status, "body": answer.body}

        @rpc
        def call(self, token: str, envelope: dict) -> dict:
            answer = self.hub.gateway.answer(f"Bearer {token}", envelope, call=True)
            return {"status": answer.status, "body": answer.body}

    class AmqpClients:
        name = "amqp_clients"
        hub = Runtime(runtime)

        def _handle(self, body: Any, props: dict, call: bool) -> None:
            raw = body if isinstance(body, dict) else (body.encode() if isinstance(body, str) else body)
            answer = self.hub.gateway.answer(_authorization(props["headers"]), raw, call=call)
            reply_to = props.get("reply_to")
            if reply_to and not (isinstance(reply_to, str) and REPLY_QUEUE.fullmatch(reply_to)):
                # a client may name only its own reply queue, never one of the hub's (hub.*) or garbage
                log.warning("bus client named a reply queue it may not use; the answer is not sent")
                reply_to = None
            if reply_to:
                try:
                    self.hub.bus.reply(reply_to, props.get("correlation_id"),
                                       {"status_code": answer.status, **answer.body})
                except Exception:  # noqa: BLE001 - the answer is recorded; the client can poll by id
                    log.exception("could not answer a bus client")
            if answer.status >= 500 and isinstance(answer.body, dict) and answer.body.get("code", "").startswith("hub."):
                raise HubError(answer.body["code"])  # store or bus away: requeue, the request is retried

        @ClientRequestConsumer.decorator(SUBMIT_QUEUES["submit"], requeue_on_error=True)
        def on_submit(self, body: Any, props: dict) -> None:
            self._handle(body, props, call=False)

        @ClientRequestConsumer.decorator(SUBMIT_QUEUES["call"], requeue_on_error=True)
        def on_call(self, body: Any, props: dict) -> None:
            self._handle(body, props, call=True)

    return [HubRpc, AmqpClients]
