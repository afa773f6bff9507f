"""The gateway's logic, free of any web framework: authenticate, validate, route, persist, hand to the bus.

``hub/services/gateway.py`` adapts HTTP (and later AMQP) requests to these calls.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from hub import attachments, errors, ids, metrics
from hub.config.model import ClientConfig, HubConfig
from hub.contracts import Connector, InboundMessage, InboundRequest, InboundResponse
from hub.errors import AuthError, ConflictError, HubError, NotFoundError, RequestError
from hub.logging import mask
from hub.limits import DEFAULT as DEFAULT_LIMITS, Limits, clean, number_parsers
from hub.message import Message, body_digest, new_id, utcnow
from hub.routing import select_routes
from hub.store import DeliveryRef, HopRecord, Store
from hub.store.repo import aware, delivery_id

Publish = Callable[[list[DeliveryRef]], None]


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def address_allowed(remote: str | None, networks: tuple[str, ...]) -> bool:
    """The TCP peer only: X-Forwarded-For is whatever the caller wrote (a proxy in front must be listed itself)."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net) for net in networks)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json_body(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Strict JSON (hub/limits.py): UTF-8 only, no duplicate keys, no NaN, bounded numbers, depth, strings and
    arrays, no control characters; an object at the top; every string returned in NFC."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # the released code for this case stays request.malformed_json; the detail names the cause
        raise RequestError(errors.REQ_MALFORMED_JSON, "The body is not UTF-8 (Windows-1258, TCVN3 and VNI "
                                                      "are not accepted; no byte-order mark).") from None
    if "\x00" in text:
        raise RequestError(errors.REQ_CONTROL_CHAR, "The body contains a NUL byte.")
    parse_int, parse_float = number_parsers(limits)
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_refuse_constant,
                           parse_int=parse_int, parse_float=parse_float)
    except RecursionError:
        raise RequestError(errors.REQ_TOO_DEEP, f"The body is nested deeper than {limits.json_depth} levels.") from None
    except ValueError as exc:
        reason = str(exc).split(":")[0][:120]
        raise RequestError(errors.REQ_MALFORMED_JSON, f"The body is not valid JSON ({reason}).") from None
    if not isinstance(value, dict):
        raise RequestError(errors.REQ_NOT_OBJECT)
    return clean(value, limits)


class Gateway:
    def __init__(self, config: HubConfig, store: Store, catalog: Any, publish: Publish,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.store = store
        self.catalog = catalog
        self.publish = publish
        self.sleep = sleep
        self._tokens = {c.token_sha256: c for c in config.clients.values() if c.token_sha256}

    def parse_body_json(self, raw: bytes) -> dict[str, Any]:
        return parse_json_body(raw, self.config.settings.limits)

    def answer(self, authorization: str | None, raw: bytes | dict[str, Any], *, call: bool) -> Answer:
        """The whole client exchange for transports other than HTTP (nameko RPC, plain AMQP): the same
        authentication, validation, idempotency and error codes; errors come back as problem documents."""
        try:
            client = self.authenticate(authorization)
            envelope = clean(raw, self.config.settings.limits) if isinstance(raw, dict) else self.parse_body_json(raw)
            return self.submit(client, envelope, call=call)
        except HubError as exc:
            return Answer(exc.status, exc.problem())

    # --- who is asking ---------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> ClientConfig:
        if not authorization or not authorization.startswith("Bearer ") or not authorization[7:].strip():
            raise AuthError(errors.AUTH_MISSING)
        digest = hashlib.sha256(authorization[7:].strip().encode()).hexdigest()
        for known, client in self._tokens.items():
            if hmac.compare_digest(known, digest):
                return client
        raise AuthError(errors.AUTH_INVALID)

    # --- one-way and call messages ---------------------------------------------------------------
    def submit(self, client: ClientConfig, envelope: dict[str, Any], *, call: bool = False) -> Answer:
        # counted by type (only a known type: a label must stay bounded) and outcome, never by client or id
        mtype = envelope.get("type") if self.catalog.has_type(str(envelope.get("type"))) else "unknown"
        try:
            answer = self._submit(client, envelope, call)
        except HubError as exc:
            metrics.record_message(mtype, "refused", exc.code)
            raise
        metrics.record_message(mtype, "accepted")
        return answer

    def _submit(self, client: ClientConfig, envelope: dict[str, Any], call: bool) -> Answer:
        received = HopRecord("received", detail=f"from client {client.id}")
        started = time.perf_counter()
        message = self._validated(client, envelope, call)
        validated = HopRecord("validated", duration_ms=(time.perf_counter() - started) * 1000)
        digest = body_digest({"source": client.id, **envelope})
        planned = self._accept(message, digest, [received, validated])
        if call:
            return self._await_answer(message.id, delivery_id(message.id, planned[0][0]))
        return Answer(202, {"id": message.id, "status": "accepted"})

    def _accept(self, message: Message, digest: str, hops: list[HopRecord]) -> list[tuple[str, str]]:
        """Route, persist in one transaction, hand to the bus. Returns the (route, connector) pairs."""
        routes = select_routes(self.config, message)
        if not routes:
            raise RequestError(errors.MSG_NO_ROUTE, f"No route takes messages of type {message.type} with this content.")
        planned = [(r.name, r.to) for r in routes]
        hops.append(HopRecord("routed", detail=", ".join(f"{r} -> {c}" for r, c in planned)))
        result = self.store.accept(message, digest, planned, hops)
        if not result.created and not hmac.compare_digest(result.digest, digest):
            raise ConflictError(errors.MSG_ID_CONFLICT, f"Message id {message.id} was already used with another body.",
                                id=message.id)
        if result.deliveries:
            self._hand_to_bus(result.deliveries)
        return planned

    # --- partner callbacks -------------------------------------------------------------------------
    def inbound(self, connectors: dict[str, Connector], name: str, request: InboundRequest) -> InboundResponse:
        """A partner's callback: the connector verifies and parses it; each result enters like a client's message."""
        ids.check(name, ids.CONNECTOR_NAME, "connector name")
        connector = connectors.get(name)
        if connector is None or "inbound" not in connector.capabilities:
            raise NotFoundError(errors.NOT_FOUND, f"There is no inbound endpoint for '{name}'.")
        spec = self.config.connectors.get(name)
        if spec is not None and spec.allow_ips and not address_allowed(request.remote_addr, spec.allow_ips):
            # before the connector runs: an address outside the list never reaches a parser or the store
            raise AuthError(errors.INBOUND_IP_REFUSED, f"Callbacks for {name} are not accepted from this address.")
        messages, response = connector.inbound(request)
        for item in messages:
            self.ingest(name, item)
        return response

    def ingest(self, source: str, item: InboundMessage) -> str:
        # a partner's ids go into headers, queues and logs like a client's: the same patterns
        item.id, item.subject, item.correlation_id = (ids.partner_id(item.id, "message id"),
                                                      ids.partner_id(item.subject, "subject"),
                                                      ids.partner_id(item.correlation_id, "correlation id"))
        item.payload = clean(item.payload, self.config.settings.limits, "the partner's payload")
        problems = self.catalog.validate_payload(item.type, item.payload) if self.catalog.has_type(item.type) else [item]
        if problems:
            raise RequestError(errors.MSG_SCHEMA_INVALID, f"The partner's {item.type} is not valid.")
        message = Message(id=item.id or new_id(), type=item.type, source=source, payload=item.payload,
                          subject=item.subject or self.catalog.subject_of(item.type, item.payload),
                          correlation_id=item.correlation_id)
        digest = body_digest({"source": source, "type": item.type, "payload": item.payload})
        self._accept(message, digest, [HopRecord("received", detail=f"callback from {source}"),
                                       *(HopRecord("verified", detail=str(e), evidence=None if isinstance(e, str) else e)
                                         for e in item.evidence)])
        return message.id

    def _validated(self, client: ClientConfig, envelope: dict[str, Any], call: bool) -> Message:
        problems = self.catalog.validate_envelope(envelope)
        if problems:
            raise RequestError(errors.MSG_ENVELOPE_INVALID, "The envelope is not valid.",
                               errors=[{"path": p.path, "message": p.message} for p in problems[:20]])
        subject = envelope.get("subject")
        if isinstance(subject, str) and mask(subject) != subject:
            # the subject is stored in clear (indexed for search) and shown to staff: never a citizen's id or phone
            raise RequestError(errors.MSG_ENVELOPE_INVALID, "The subject looks like a personal id or a phone number.",
                               errors=[{"path": "/subject", "message": "use the dossier code; personal data belongs "
                                                                       "in the payload, which is encrypted at rest"}])
        mtype = envelope["type"]
        if not self.catalog.has_type(mtype):
            raise RequestError(errors.MSG_UNKNOWN_TYPE, f"There is no message type '{mtype}'.")
        if not client.may_send(mtype):
            raise AuthError(errors.AUTH_FORBIDDEN_TYPE, f"Client {client.id} may not send {mtype}.")
        if call and not self.catalog.is_call(mtype):
            raise RequestError(errors.MSG_NOT_CALL, f"{mtype} is a one-way message type.")
        problems = self.catalog.validate_payload(mtype, envelope["payload"])
        if problems:
            raise RequestError(errors.MSG_SCHEMA_INVALID, f"The payload is not a valid {mtype}.",
                               errors=[{"path": p.path, "message": p.message} for p in problems[:20]])
        spoofed = attachments.problems(envelope["payload"])
        if spoofed:
            raise RequestError(errors.MSG_ATTACHMENT, "An attachment is not what its content_type says.",
                               errors=spoofed[:20])
        return Message(id=envelope.get("id") or new_id(), type=mtype, source=client.id, payload=envelope["payload"],
                       subject=envelope.get("subject") or self.catalog.subject_of(mtype, envelope["payload"]),
                       correlation_id=envelope.get("correlation_id"), headers=dict(envelope.get("headers") or {}))

    def _hand_to_bus(self, refs: list[DeliveryRef]) -> None:
        try:
            self.publish(refs)
        except HubError:
            raise
        except Exception as exc:  # committed but not confirmed: the recovery sweep publishes it later
            raise errors.UnavailableError(errors.BUS_UNAVAILABLE, "The bus did not confirm the message.") from exc

    def _await_answer(self, message_id: str, did: str) -> Answer:
        deadline = time.monotonic() + self.config.settings.call_timeout
        pause = 0.005
        while time.monotonic() < deadline:
            row = self.store.delivery_state(did)
            if row and row["state"] == "delivered":
                reply = json.loads(row["reply"]) if row["reply"] else {}
                return Answer(200, {"id": message_id, "status": "answered", "reply": reply.get("payload")})
            if row and row["state"] == "dead":
                raise HubError(errors.CALL_FAILED, row["last_error"] or "The partner refused the call.",
                               id=message_id, cause=row["last_code"])
            self.sleep(pause)
            pause = min(pause * 1.5, 0.1)
        return Answer(202, {"id": message_id, "status": "pending", "poll": f"/v1/messages/{message_id}"})

    # --- reading ---------------------------------------------------------------------------------
    def view(self, client: ClientConfig | None, message_id: str) -> dict[str, Any]:
        """A message's state, deliveries and hops. A client sees only its own messages."""
        ids.check(message_id, ids.SAFE_ID, "message id")
        record = self.store.message(message_id)
        if record is None or (client is not None and record["message"]["source"] != client.id):
            raise NotFoundError(errors.NOT_FOUND, f"No message {message_id} for this client.")
        return message_view(record)


def _iso(value: Any) -> Any:
    return aware(value).isoformat() if value is not None and hasattr(value, "isoformat") else value


def overall_state(states: list[str]) -> str:
    if states and all(s == "delivered" for s in states):
        return "delivered"
    if any(s in ("pending", "in_flight", "retry_wait") for s in states):
        return "in_progress"
    return "dead" if all(s == "dead" for s in states) else "partially_delivered"


def message_view(record: dict[str, Any]) -> dict[str, Any]:
    msg = record["message"]
    dels = record["deliveries"]
    return {
        "id": msg["id"], "type": msg["type"], "source": msg["source"], "subject": msg["subject"],
        "correlation_id": msg["correlation_id"], "created_at": _iso(msg["created_at"]),
        "accepted_at": _iso(msg["accepted_at"]), "state": overall_state([d["state"] for d in dels]),
        "deliveries": [{"id": d["id"], "route": d["route"], "connector": d["connector"], "state": d["state"],
                        "attempts": d["attempts"], "last_code": d["last_code"], "last_error": d["last_error"],
                        "next_attempt_at": _iso(d["next_attempt_at"]), "delivered_at": _iso(d["delivered_at"])}
                       for d in dels],
        "hops": [{"at": _iso(h["at"]), "kind": h["kind"], "delivery": h["delivery_id"], "duration_ms": h["duration_ms"],
                  "code": h["code"], "detail": h["detail"], "process": h["process"]} for h in record["hops"]],
    }
