"""Prometheus metrics of one hub process, served at ``/metrics``.

One :class:`~prometheus_client.CollectorRegistry` per process (``REGISTRY`` below), never the library's global one,
so tests and several runtimes in one interpreter do not collide. Two kinds of figures:

* events counted where they happen (messages accepted or refused, delivery attempts and their latency): the hot
  path calls the small ``record_*`` functions, which cost a dictionary look-up and an addition;
* state read when Prometheus scrapes (queue depths and dead letters from the store, circuit states, certificate
  days left): :class:`StateCollector`, cached for a few seconds so that many scrapers never load the store.

Labels carry only bounded, non-personal values: message type, connector, outcome, error code, state. Never an id,
a dossier code or anything a citizen typed.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger("hub.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

MESSAGES = Counter("hub_messages_total", "Messages offered to the gateway, by type and outcome "
                   "(accepted, duplicate, refused)", ["type", "outcome", "code"], registry=REGISTRY)
DELIVERIES = Counter("hub_delivery_attempts_total", "Delivery attempts by connector and outcome "
                     "(delivered, retry_wait, dead)", ["connector", "outcome", "code"], registry=REGISTRY)
ATTEMPT_SECONDS = Histogram("hub_delivery_attempt_seconds", "Time of one delivery attempt (steps + partner), "
                            "by connector", ["connector"], registry=REGISTRY,
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DEAD_LETTERED = Counter("hub_dead_letters_total", "Deliveries that became dead letters, by connector and code",
                        ["connector", "code"], registry=REGISTRY)

SERVICE_RESTARTS = Counter("hub_service_restarts_total", "Service containers of this process that died and were "
                           "started again (a non-zero rate is a bug to report)", ["service"], registry=REGISTRY)

#: circuit state as a number, for a gauge Prometheus can alert on
CIRCUIT_VALUES = {"closed": 0, "half_open": 1, "open": 2}
CACHE_SECONDS = 5.0


def record_message(mtype: str, outcome: str, code: str = "") -> None:
    """``mtype`` must be a known message type (or "unknown"): an unbounded label would grow without limit."""
    MESSAGES.labels(mtype, outcome, code).inc()


def record_attempt(connector: str, outcome: str, code: str | None, seconds: float) -> None:
    DELIVERIES.labels(connector, outcome, code or "").inc()
    ATTEMPT_SECONDS.labels(connector).observe(seconds)
    if outcome == "dead":
        DEAD_LETTERED.labels(connector, code or "unknown").inc()


def record_service_restart(service: str) -> None:
    SERVICE_RESTARTS.labels(service).inc()


def circuit_state(connector: Any) -> str | None:
    """The hook for circuit breakers: a connector that has one exposes ``circuit_state()`` returning
    closed | half_open | open (or an attribute ``circuit`` with a ``state``). None when it has no breaker."""
    probe = getattr(connector, "circuit_state", None)
    if callable(probe):
        return str(probe())
    circuit = getattr(connector, "circuit", None)
    state = getattr(circuit, "state", None)
    return str(state) if state is not None else None


class StateCollector:
    """Figures read at scrape time from the runtime. Registered once per runtime; failures give no samples
    (and a log line), never a failed scrape: the counters above stay visible while the store is away."""

    def __init__(self, runtime: Any, clock: Callable[[], float] = time.monotonic, shared: bool = True) -> None:
        self.runtime = runtime
        self.clock = clock
        self.shared = shared
        self._cached: list[GaugeMetricFamily] = []
        self._at = float("-inf")

    def describe(self) -> Iterable[Any]:
        return []  # unchecked collector: the families depend on the configuration

    def collect(self) -> Iterable[GaugeMetricFamily]:
        now = self.clock()
        if now - self._at >= CACHE_SECONDS:
            self._cached = self._families()
            self._at = now
        return list(self._cached)

    def _families(self) -> list[GaugeMetricFamily]:
        families: list[GaugeMetricFamily] = [self._circuits()]
        if not self.shared:
            return families
        families.extend(self._store_families())
        certs = self._certificates()
        if certs is not None:
            families.append(certs)
        return families

    def _store_families(self) -> list[GaugeMetricFamily]:
        depth = GaugeMetricFamily("hub_deliveries", "Deliveries by connector and state, from the store "
                                  "(pending + retry_wait = the queue)", labels=["connector", "state"])
        dead = GaugeMetricFamily("hub_dead_letters_waiting", "Dead letters waiting for an operator, by connector",
                                 labels=["connector"])
        up = GaugeMetricFamily("hub_store_up", "1 when the store answered the last scrape")
        try:
            counts = self.runtime.store.delivery_counts()
        except Exception:  # noqa: BLE001 - a scrape must not fail because the store is away
            log.warning("metrics: the store did not answer")
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        for connector in sorted(set(counts) | set(self.runtime.connectors)):
            states = counts.get(connector, {})
            for state in ("pending", "in_flight", "retry_wait"):
                depth.add_metric([connector, state], states.get(state, 0))
            dead.add_metric([connector], states.get("dead", 0))
        return [depth, dead, up]

    def _circuits(self) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily("hub_circuit_state", "Circuit breaker per connector: 0 closed, 1 half open, 2 open",
                                  labels=["connector"])
        for name, connector in sorted(self.runtime.connectors.items()):
            state = circuit_state(connector)
            if state in CIRCUIT_VALUES:
                gauge.add_metric([name], CIRCUIT_VALUES[state])
        return gauge

    def _certificates(self) -> GaugeMetricFamily | None:
        keyring = getattr(self.runtime, "keyring", None)
        if keyring is None:
            return None
        gauge = GaugeMetricFamily("hub_certificate_days_left", "Days until each configured certificate expires",
                                  labels=["kind", "owner"])
        try:
            entries = keyring.inventory()
        except Exception:  # noqa: BLE001
            log.warning("metrics: the key inventory failed")
            return gauge
        soonest: dict[tuple[str, str], int] = {}
        for entry in entries:
            if entry.days_left is not None:
                key = (entry.kind, entry.owner)
                soonest[key] = min(entry.days_left, soonest.get(key, entry.days_left))
        for (kind, owner), days in sorted(soonest.items()):
            gauge.add_metric([kind, owner], days)
        return gauge


_attached: dict[int, StateCollector] = {}


def attach(runtime: Any, shared: bool = True) -> None:
    """Read this runtime's state at scrape time (the last attached runtime wins: one per process).

    ``shared=False`` (worker processes): only this process's own state, its circuit breakers. The figures every
    process would read alike from the store or the key files (queue depths, dead letters waiting, certificate days
    left) come from the gateway alone, so that a sum over the scraped instances does not count them N times."""
    for collector in list(_attached.values()):
        REGISTRY.unregister(collector)
    _attached.clear()
    collector = StateCollector(runtime, shared=shared)
    REGISTRY.register(collector)
    _attached[id(runtime)] = collector


def exposition() -> bytes:
    return generate_latest(REGISTRY)


def latency_quantiles(quantiles: tuple[float, ...] = (0.5, 0.95)) -> dict[str, dict[str, float]]:
    """Approximate attempt-latency percentiles per connector from this process's histogram (upper bucket
    bound, as Prometheus' histogram_quantile would without interpolation), for the dashboard."""
    buckets: dict[str, list[tuple[float, float]]] = {}
    for family in ATTEMPT_SECONDS.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                buckets.setdefault(sample.labels["connector"], []).append((float(sample.labels["le"]), sample.value))
    result: dict[str, dict[str, float]] = {}
    for connector, points in buckets.items():
        points.sort()
        total = points[-1][1] if points else 0
        if not total:
            continue
        row = {"count": total}
        for q in quantiles:
            bound = next((le for le, n in points if n >= q * total), points[-1][0])
            row[f"p{int(q * 100)}"] = bound
        result[connector] = row
    return result
