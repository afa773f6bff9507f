"""Liveness and readiness, the two questions an orchestrator asks.

* ``/healthz`` (liveness): the process is up and its event loop answers. Nothing else: restarting a hub
  because a partner is down would only add an outage to an outage.
* ``/readyz`` (readiness): this process can take messages now: the store answers, the bus answers, every
  signing key can sign. Connectors are reported (up, slow, down) but a partner that is down does not make the
  hub unready: its deliveries wait in the store and are retried; taking the hub out of the load balancer
  would stop every other partner's traffic too.
"""
from __future__ import annotations

import time
from typing import Any

from hub import errors
from hub.metrics import circuit_state
from hub.store import circuits

SLOW_MS = 2000.0   # a connector probe slower than this shows as "slow" on the dashboard
STARTED = time.time()


def liveness(runtime: Any = None) -> dict[str, Any]:
    """The process answers (HTTP 200 always: restarting it would not mend a key or a partner). The body also
    carries what this process knows without asking anyone - its signing keys and its circuit breakers - and is
    red (``status: degraded``) when a key cannot sign or a breaker is open. No store, bus or partner is probed
    here: that is /readyz."""
    body: dict[str, Any] = {"status": "ok", "uptime_s": round(time.time() - STARTED, 1)}
    if runtime is None:
        return body
    body["signing"] = signing_state(runtime)
    breakers = getattr(runtime, "breakers", {}) or {}
    body["circuits"] = {name: b.state for name, b in sorted(breakers.items())}
    if body["signing"]["state"] != "up" or "open" in body["circuits"].values():
        body["status"] = "degraded"
    return body


def _probe(fn: Any) -> tuple[str, str]:
    try:
        fn()
        return "up", ""
    except errors.HubError as exc:
        return "down", exc.code
    except Exception as exc:  # noqa: BLE001 - any failure to reach it is "down"; the type says enough
        return "down", type(exc).__name__


def signing_state(runtime: Any) -> dict[str, Any]:
    keyring = getattr(runtime, "keyring", None)
    if keyring is None:
        return {"state": "up", "detail": "no signing keys configured in this process"}
    try:
        problems = keyring.usable()
    except Exception as exc:  # noqa: BLE001
        return {"state": "down", "detail": type(exc).__name__}
    if problems:
        return {"state": "down", "detail": "; ".join(f"{p.key}: {p.detail}" for p in problems)[:500]}
    return {"state": "up", "detail": f"{len(keyring.key_names())} key(s) usable"}


def connector_state(connector: Any) -> dict[str, Any]:
    try:
        health = connector.check()
        state, detail, latency = health.state, health.detail, health.latency_ms
    except Exception as exc:  # noqa: BLE001 - a probe that raises is a connector that is down
        state, detail, latency = "down", type(exc).__name__, None
    circuit = circuit_state(connector)
    if circuit == "open":
        state = "circuit_open"
    elif state == "up" and latency is not None and latency > SLOW_MS:
        state = "slow"
    return {"state": state, "detail": detail, "latency_ms": latency, "circuit": circuit}


#: a breaker's report counts this long (an open breaker re-reports at every failed probe, at most every 5 min)
CIRCUIT_REPORT_MAX_AGE = 900.0


def _merge_reported_circuits(runtime: Any, connectors: dict[str, dict[str, Any]]) -> None:
    """Breakers live in each process; workers report theirs to the store. Any open one shows here."""
    try:
        reported = circuits.not_closed(runtime.store, CIRCUIT_REPORT_MAX_AGE)
    except Exception:  # noqa: BLE001 - the store being away is already reported above
        return
    for name, rows in reported.items():
        if name in connectors:
            connectors[name]["circuits_elsewhere"] = rows
            if any(r["state"] == "open" for r in rows):
                connectors[name]["state"] = "circuit_open"


def readiness(runtime: Any) -> dict[str, Any]:
    store, store_detail = _probe(runtime.store.ping)
    bus, bus_detail = _probe(runtime.bus.ping)
    signing = signing_state(runtime)
    connectors = {name: connector_state(c) for name, c in sorted(runtime.connectors.items())}
    _merge_reported_circuits(runtime, connectors)
    ready = store == "up" and bus == "up" and signing["state"] == "up"
    return {"status": "ok" if ready else "degraded", "store": store, "store_detail": store_detail,
            "bus": bus, "bus_detail": bus_detail, "signing": signing, "connectors": connectors}
