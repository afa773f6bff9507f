"""The contracts plugins implement: connectors (one partner each) and transforms (pure functions).

A connector's constructor does no I/O (nameko's rule for extensions); ``start``/``stop`` open and close
its resources and ``stop`` never raises. A connector never retries on its own: it raises
:class:`hub.errors.TransientError` or :class:`hub.errors.PermanentError` and the hub decides.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from hub.message import Message


@dataclass
class Delivery:
    """One message on one route, as handed to a connector for one attempt."""
    id: str
    message: Message
    route: str
    connector: str
    attempt: int
    body: Any                      # the output of the route's steps (partner format)
    options: dict[str, Any] = field(default_factory=dict)   # the route's per-connector options
    accepted_at: datetime | None = None    # when the hub accepted the message (None in tests that build one)

    @property
    def idempotency_key(self) -> str:
        """Stable across attempts and replays: partners that accept a key see each delivery once."""
        return self.id


@dataclass
class Reply:
    status: int | None = None
    body: Any = None
    partner_ref: str | None = None          # the partner's id for what we sent, if it gives one
    payload: dict[str, Any] | None = None   # canonical answer for call types


@dataclass
class InboundRequest:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    remote_addr: str | None = None
    #: the query string exactly as received: checksums (VNPay) are verified over what the partner sent
    raw_query: bytes = b""


@dataclass
class InboundResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"


@dataclass
class InboundMessage:
    """What a connector made of a partner's callback: enters the hub like a client's message."""
    type: str
    payload: dict[str, Any]
    subject: str | None = None
    id: str | None = None          # the partner's own id when it has one: callbacks replayed are one message
    correlation_id: str | None = None
    #: what the connector verified before parsing: hub.signing.evidence.Evidence (its exact bytes are kept for
    #: `run.py evidence`) or its str (the hop only); each becomes a `verified` hop
    evidence: list[Any] = field(default_factory=list)


@dataclass
class Health:
    state: str = "unknown"          # up | down | degraded | unknown
    detail: str = ""
    latency_ms: float | None = None


class ConnectorContext(Protocol):
    """What the hub lends a connector: nothing else reaches it."""
    sandbox: bool

    def client(self, client_id: str) -> Any: ...
    def secret(self, reference: str) -> str: ...


class Connector:
    type_name: ClassVar[str] = ""
    #: JSON Schema of the connector's options in config/connectors.yaml; validated by `run.py check`.
    config_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    #: what it can do: send, call, inbound, poll
    capabilities: ClassVar[frozenset[str]] = frozenset({"send"})
    #: attempts that may run at once in one hub process (connectors.yaml ``concurrency``, set by the runtime before
    #: ``start``): size connection pools by it, or the attempts beyond the pool open and drop a connection each
    concurrency: int = 10

    def __init__(self, name: str, options: dict[str, Any], context: ConnectorContext) -> None:
        self.name = name
        self.options = options
        self.context = context

    def start(self) -> None:
        """Open sessions, pools. Called once before the first send."""

    def stop(self) -> None:
        """Close what start opened. Must never raise."""

    def send(self, delivery: Delivery) -> Reply:
        raise NotImplementedError(f"connector {self.type_name} does not send")

    def inbound(self, request: InboundRequest) -> tuple[list[InboundMessage], InboundResponse]:
        raise NotImplementedError(f"connector {self.type_name} takes no callbacks")

    def poll(self) -> list[InboundMessage]:
        return []

    def check(self) -> Health:
        return Health("unknown", "no live probe")


@dataclass
class TransformContext:
    message: Message
    route: str
    connector: str
    options: dict[str, Any] = field(default_factory=dict)
