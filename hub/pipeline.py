"""One attempt of one delivery: steps (validate, transform, sign), the connector's send, and the outcome.

Plain Python: the nameko dispatcher calls :meth:`Pipeline.attempt` and only adds the bound on total time.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from hub import errors, registry
from hub.circuit import CircuitBreaker
from hub.config.model import HubConfig, RouteConfig, Step
from hub.contracts import Connector, Delivery, Reply, TransformContext
from hub.errors import DeliveryError, HubError, PermanentError, TransientError
from hub.message import Message, utcnow
from hub.retry import next_attempt_at
from hub.store import ClaimedDelivery, HopRecord, Outcome

#: sign(key_name, body, options) -> signed body; supplied by hub.signing when keys are configured
Signer = Callable[[str, Any, dict], Any]
#: verify(trust_store, body, options) -> evidence; raises a hub.signing SignatureError (it has a .code)
Verifier = Callable[[str, Any, dict], Any]
#: validate(schema_name, body) -> list of problems (empty when valid)
Validator = Callable[[str, Any], list]
#: failures that say the partner is down or unreachable (they feed the circuit breaker); 429 is a partner alive
PARTNER_DOWN = frozenset({errors.DLV_NETWORK, errors.DLV_TIMEOUT, errors.DLV_PARTNER_5XX, errors.DLV_CONNECTOR_BUG})
SendGuard = Callable[[Connector, Callable[[], Reply]], Reply]


@dataclass(frozen=True)
class _Verified:
    """A verify step's result: the body goes on unchanged, the evidence goes to the `verified` hop."""
    body: Any
    evidence: Any


def _direct(connector: Connector, send: Callable[[], Reply]) -> Reply:
    return send()


class Pipeline:
    def __init__(self, config: HubConfig, connectors: dict[str, Connector], signer: Signer | None = None,
                 validator: Validator | None = None, breakers: dict[str, CircuitBreaker] | None = None,
                 verifier: Verifier | None = None) -> None:
        self.config = config
        self.breakers = breakers or {}
        self.connectors = connectors
        self.routes = {r.name: r for r in config.routes}
        self.signer = signer
        self.validator = validator
        self.verifier = verifier

    def prepare(self, route: RouteConfig, message: Message, hops: list[HopRecord], delivery_id: str | None = None) -> Any:
        """Run the route's steps over the canonical payload; what comes out is what the connector sends."""
        body: Any = message.payload
        for step in route.steps:
            started = time.perf_counter()
            result = self._step(step, route, message, body)
            # a signer's / verifier's evidence (key, certificate, algorithm, digest of the bytes) is the hop's detail
            evidence = getattr(result, "evidence", None) if step.kind in ("sign", "verify") else None
            body = result.body if isinstance(result, _Verified) else result
            hops.append(HopRecord({"transform": "transformed", "sign": "signed", "validate": "validated",
                                   "verify": "verified"}[step.kind],
                                  duration_ms=(time.perf_counter() - started) * 1000,
                                  detail=step.name if evidence is None else str(evidence), delivery_id=delivery_id,
                                  evidence=evidence))
        return body

    def _step(self, step: Step, route: RouteConfig, message: Message, body: Any) -> Any:
        if step.kind == "transform":
            fn = registry.transforms.get(step.name)
            ctx = TransformContext(message=message, route=route.name, connector=route.to, options=step.options)
            try:
                return fn(body, ctx)
            except DeliveryError:
                raise
            except HubError as exc:
                if exc.code == errors.STUCK:   # the handler's own time bound, not this message's fault: requeued
                    raise
                raise PermanentError(errors.DLV_TRANSFORM, f"transform {step.name}: {type(exc).__name__}: {exc}") from exc
            except Exception as exc:  # a transform is pure: any failure is this message's fault (poison)
                raise PermanentError(errors.DLV_TRANSFORM, f"transform {step.name}: {type(exc).__name__}: {exc}") from exc
        if step.kind == "validate":
            problems = self.validator(step.name, body) if self.validator else []
            if problems:
                raise PermanentError(errors.DLV_VALIDATE, f"{step.name}: " + "; ".join(map(str, problems[:5])))
            return body
        if step.kind == "sign":
            if self.signer is None:
                raise PermanentError(errors.DLV_SIGN, f"no signer configured for key {step.name}")
            try:
                return self.signer(step.name, body, step.options)
            except DeliveryError:
                raise
            except Exception as exc:
                raise PermanentError(errors.DLV_SIGN, f"key {step.name}: {type(exc).__name__}: {exc}") from exc
        if step.kind == "verify":
            if self.verifier is None:
                raise PermanentError(errors.DLV_VERIFY, f"no verifier configured for trust store {step.name}")
            try:
                return _Verified(body, self.verifier(step.name, body, step.options))
            except DeliveryError:
                raise
            except Exception as exc:  # a bad signature is this message's fault: never retried, never forwarded
                code = getattr(exc, "code", type(exc).__name__)
                raise PermanentError(errors.DLV_VERIFY, f"trust {step.name}: [{code}] {getattr(exc, 'detail', exc)}") from exc
        raise PermanentError(errors.DLV_TRANSFORM, f"unknown step kind {step.kind}")

    def attempt(self, claimed: ClaimedDelivery, guard: SendGuard = _direct) -> tuple[Outcome, list[HopRecord]]:
        did = claimed.id
        hops = [HopRecord("attempt", detail=f"attempt {claimed.attempts}", delivery_id=did)]
        route = self.routes.get(claimed.route)
        connector = self.connectors.get(claimed.connector)
        try:
            if route is None:
                raise PermanentError(errors.DLV_ROUTE_GONE, f"route {claimed.route} is not in the configuration")
            if connector is None:
                raise PermanentError(errors.DLV_NO_CONNECTOR, f"connector {claimed.connector} is not configured")
            body = self.prepare(route, claimed.message, hops, did)
            delivery = Delivery(id=did, message=claimed.message, route=route.name, connector=connector.name,
                                attempt=claimed.attempts, body=body, options=route.options,
                                accepted_at=claimed.accepted_at)
            breaker = self.breakers.get(connector.name)
            wait = breaker.allow() if breaker else None
            if wait is not None:
                return self._paused(claimed, connector.name, wait)
            started = [time.perf_counter()]

            def send() -> Reply:
                started[0] = time.perf_counter()   # the hop times the partner call, not the wait for a free slot
                return connector.send(delivery)
            try:
                reply = guard(connector, send)
            except DeliveryError as exc:
                if breaker:
                    breaker.record_failure() if exc.code in PARTNER_DOWN else breaker.record_success()
                raise
            except HubError as exc:
                if exc.code == errors.STUCK:  # the handler ran past its lease (hub/services/dispatcher.py) while
                    raise                     # waiting here: requeued, never a dead letter (order of a dossier!)
                if breaker:
                    breaker.record_success()  # the partner answered, with a refusal
                raise PermanentError(exc.code, exc.detail) from exc
            except Exception as exc:  # a bug in a connector: retry (bounded), keep the evidence
                if breaker:
                    breaker.record_failure()
                raise TransientError(errors.DLV_CONNECTOR_BUG, f"{type(exc).__name__}: {exc}") from exc
            finally:
                sent_ms = (time.perf_counter() - started[0]) * 1000
            if breaker:
                breaker.record_success()
            hops.append(HopRecord("answered", duration_ms=sent_ms, delivery_id=did,
                                  detail=f"{connector.name}: status {reply.status}"
                                         + (f", ref {reply.partner_ref}" if reply.partner_ref else "")))
            hops.append(HopRecord("delivered", delivery_id=did))
            answer = {"status": reply.status, "partner_ref": reply.partner_ref, "payload": reply.payload}
            return Outcome("delivered", reply=answer), hops
        except DeliveryError as exc:
            return self._failed(claimed, route, exc, hops)

    @staticmethod
    def _paused(claimed: ClaimedDelivery, connector: str, wait: float) -> tuple[Outcome, list[HopRecord]]:
        """Circuit open: not sent, not counted; back when the breaker lets a probe through."""
        hop = HopRecord("paused", code=errors.DLV_CIRCUIT_OPEN, delivery_id=claimed.id,
                        detail=f"{connector} circuit open; next probe in {wait:.1f} s")
        return Outcome("retry_wait", code=errors.DLV_CIRCUIT_OPEN, error=hop.detail, counted=False,
                       next_attempt_at=utcnow() + timedelta(seconds=wait)), [hop]

    def _failed(self, claimed: ClaimedDelivery, route: RouteConfig | None, exc: DeliveryError,
                hops: list[HopRecord]) -> tuple[Outcome, list[HopRecord]]:
        did = claimed.id
        hops.append(HopRecord("failed", code=exc.code, detail=exc.detail, delivery_id=did))
        if exc.transient and route is not None:
            now = utcnow()
            retry_after = getattr(exc, "retry_after", None)
            at = next_attempt_at(route.retry, claimed.attempts, claimed.window_start, now, retry_after)
            if at is not None:
                wait = (at - now).total_seconds()
                hops.append(HopRecord("retry_scheduled", delivery_id=did, code=exc.code,
                                      detail=f"attempt {claimed.attempts + 1} in {wait:.1f} s"))
                return Outcome("retry_wait", code=exc.code, error=exc.detail, next_attempt_at=at), hops
            code, reason = errors.DLV_EXHAUSTED, f"after {claimed.attempts} attempt(s); last: [{exc.code}] {exc.detail}"
        else:
            code, reason = exc.code, exc.detail
        hops.append(HopRecord("dead_lettered", code=code, detail=reason, delivery_id=did))
        return Outcome("dead", code=code, error=reason), hops
