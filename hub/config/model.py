"""The validated configuration, as typed objects the rest of the hub reads (never raw YAML)."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from hub.limits import Limits


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}\n    fix: {self.fix}"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff: float = 1.0            # seconds before the 2nd attempt
    multiplier: float = 2.0
    max_backoff: float = 300.0
    jitter: float = 0.2             # +- fraction of each delay, so retries of a burst spread out
    max_age: float = 86400.0        # give up this long after the message was accepted


@dataclass(frozen=True)
class Step:
    kind: str                       # validate | transform | sign | verify
    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]           # e.g. ("payload", "status")
    op: str                         # eq ne in not_in exists prefix matches
    value: Any


@dataclass(frozen=True)
class RouteConfig:
    name: str
    types: tuple[str, ...]          # message types, or globs like "dossier.*"
    to: str                         # connector name
    when: tuple[Condition, ...] = ()
    steps: tuple[Step, ...] = ()
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_failure: str = "dead_letter"
    options: dict[str, Any] = field(default_factory=dict)
    tests: str | None = None        # path of the route's test file, if any

    def matches_type(self, message_type: str) -> bool:
        return any(t == message_type or fnmatch.fnmatchcase(message_type, t) for t in self.types)


@dataclass(frozen=True)
class ConnectorConfig:
    name: str
    type: str
    options: dict[str, Any]
    timeout: float = 10.0           # total seconds per attempt
    concurrency: int = 10           # parallel attempts per hub process (and the bus prefetch)
    circuit: dict[str, float] = field(default_factory=dict)  # failures, open_for, max_open_for
    allow_ips: tuple[str, ...] = ()  # inbound callbacks only from these addresses/networks (empty: any)


@dataclass(frozen=True)
class ClientConfig:
    id: str
    name: str
    token_sha256: str | None
    allow: tuple[str, ...]
    agencies: tuple[str, ...] = ()
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)

    def may_send(self, message_type: str) -> bool:
        return any(fnmatch.fnmatchcase(message_type, pattern) for pattern in self.allow)


@dataclass(frozen=True)
class HubSettings:
    sandbox: bool = True
    transport: str = "memory://"
    quorum_queues: bool = False     # RabbitMQ cluster: replicated quorum queues instead of classic ones
    store: str = "sqlite:///var/hub.db"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    max_body_bytes: int = 1_048_576
    call_timeout: float = 10.0
    simulators: bool = True
    sim_host: str = "127.0.0.1"
    sim_port: int = 8090
    plugins: tuple[str, ...] = ("connectors", "transforms", "simulators")
    retry_sweep_interval: float = 1.0
    var_dir: str = "var"
    limits: Limits = Limits()       # hub.limits (hub/limits.py)
    store_keys_file: str | None = None   # Fernet keys for payloads at rest (hub/store/codec.py)
    retention: tuple[tuple[str, float], ...] = ()   # (message type or glob, seconds): `run.py purge`
    retention_default: float = 180 * 86400.0


@dataclass(frozen=True)
class HubConfig:
    directory: str
    settings: HubSettings
    clients: dict[str, ClientConfig]
    connectors: dict[str, ConnectorConfig]
    routes: tuple[RouteConfig, ...]
    signing: dict[str, Any] = field(default_factory=dict)
    operators: dict[str, Any] = field(default_factory=dict)   # dashboard accounts (hub.web.auth)

    def routes_for(self, message_type: str) -> list[RouteConfig]:
        return [r for r in self.routes if r.matches_type(message_type)]
