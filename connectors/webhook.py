"""Webhooks to client systems (one-stop software): how inbound events reach the agency.

The body is the canonical message as JSON. It is signed so the client can tell it came from the hub:
``X-Hub-Signature-256: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with the client's webhook
secret (the timestamp lets the client refuse replays older than a few minutes).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

from hub import errors, registry
from hub.config.model import ClientConfig
from hub.contracts import Delivery, Reply
from hub.errors import PermanentError
from connectors.rest import HttpConnector

SIGNATURE_HEADER = "X-Hub-Signature-256"


def sign_webhook(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_webhook(secret: str, body: bytes, header: str, tolerance: float = 300, now: float | None = None) -> bool:
    """For clients (and the sandbox client simulator): constant-time check, replays outside the window refused."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign_webhook(secret, body, timestamp), header)


@registry.connectors.register("webhook")
class WebhookConnector(HttpConnector):
    type_name = "webhook"
    config_schema = {"type": "object", "additionalProperties": False,
                     "properties": {"client": {"type": "string"}, "connect_timeout": {"type": "number"}}}

    def _target(self, delivery: Delivery) -> ClientConfig:
        """The client named by the route, else the connector's, else the client serving the payload's agency."""
        clients = self.context.clients()
        name = delivery.options.get("client") or self.options.get("client")
        if name:
            client = clients.get(name)
        else:
            agency = delivery.message.payload.get("agency_id")
            client = next((c for c in clients.values() if agency and agency in c.agencies), None)
        if client is None or not client.webhook_url:
            raise PermanentError(errors.DLV_NO_WEBHOOK, f"no webhook for client '{name or 'by agency'}'")
        return client

    def send(self, delivery: Delivery) -> Reply:
        client = self._target(delivery)
        message = delivery.message
        event = {"id": message.id, "type": message.type, "subject": message.subject, "source": message.source,
                 "correlation_id": message.correlation_id, "created_at": message.created_at.isoformat(),
                 "payload": delivery.body}
        body = json.dumps(event, ensure_ascii=False).encode("utf-8")
        headers = {"Idempotency-Key": delivery.idempotency_key, "X-Hub-Message-Id": message.id}
        if client.webhook_secret:
            headers[SIGNATURE_HEADER] = sign_webhook(client.webhook_secret, body, int(time.time()))
        response = self.post_json(client.webhook_url, None, headers, data=body)
        return Reply(status=response.status_code)
