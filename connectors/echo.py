"""The echo partner: a tiny partner that answers and records what it got. Proves the connector contract."""
from __future__ import annotations

from hub import registry
from hub.contracts import Delivery, Reply
from connectors.rest import HttpConnector


@registry.connectors.register("echo")
class EchoConnector(HttpConnector):
    type_name = "echo"
    capabilities = frozenset({"send", "call"})

    def send(self, delivery: Delivery) -> Reply:
        headers = {"Idempotency-Key": delivery.idempotency_key, "X-Hub-Message-Id": delivery.message.id}
        response = self.post_json(f"{self.base_url}/messages", {"type": delivery.message.type, "body": delivery.body},
                                  headers)
        answer = self.json_of(self.name, response)
        return Reply(status=response.status_code, body=answer, partner_ref=answer.get("ref"),
                     payload=answer.get("echo"))
