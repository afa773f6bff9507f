"""Everything one hub process holds, built once from the validated config (no per-message config or key loading)."""
from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Callable

from hub import faultpoints, metrics, registry
from hub.bus import Bus
from hub.circuit import CircuitBreaker, CircuitPolicy
from hub.store import circuits
from hub.config.model import ClientConfig, HubConfig
from hub.contracts import Connector
from hub.errors import HubError, RequestError
from hub.gateway import Gateway
from hub.in_hand import InHand
from hub.logging import message_context
from hub.pipeline import Pipeline
from hub.signing.service import SigningService
from hub.startup import until_up
from hub.store.codec import for_config as store_codec
from hub.store import ClaimedDelivery, DeliveryRef, Store
from hub.store import ordering, procedures

log = logging.getLogger("hub")
#: waits in this process for the ordered delivery just before (hub/in_hand.py) before parking in the store
LOCAL_WAITS = 3


class ConnectorContext:
    """What a connector may ask of the hub (see hub.contracts.ConnectorContext)."""

    def __init__(self, config: HubConfig) -> None:
        self._config = config
        self.sandbox = config.settings.sandbox
        self.transport = config.settings.transport   # the hub's own bus (client event queues live there)

    def client(self, client_id: str) -> ClientConfig:
        return self._config.clients[client_id]

    def clients(self) -> dict[str, ClientConfig]:
        return dict(self._config.clients)

    def secret(self, reference: str) -> str:
        raise KeyError(reference)


class HubRuntime:
    def __init__(self, config: HubConfig, catalog: Any | None = None) -> None:
        if catalog is None:
            from hub.schemas import default_catalog
            catalog = default_catalog()
        self.config = config
        self.catalog = catalog
        self.store = Store(config.settings.store, store_codec(config))
        self.in_hand = InHand()
        self.bus = Bus(config.settings.transport, config.connectors, quorum=config.settings.quorum_queues)
        # Keys and trust stores load once per process (the sandbox PKI is generated on first run), never per message.
        self.signing = SigningService.from_config(config.signing, config.directory)
        self.keyring = self.signing.keyring   # hub.health: /healthz is red when a signing key cannot sign
        context = ConnectorContext(config)
        context.signing = self.signing  # connectors verify callbacks with it before anything else
        context.store = self.store  # connectors keeping partner state (payment orders, postal orders) share it
        self.connectors: dict[str, Connector] = {
            name: registry.connectors.get(spec.type)(name, spec.options, context)
            for name, spec in config.connectors.items()}
        self.breakers = {name: CircuitBreaker(CircuitPolicy(**spec.circuit), on_change=self._circuit_reporter(name))
                         for name, spec in config.connectors.items()}
        for name, breaker in self.breakers.items():
            self.connectors[name].circuit = breaker  # type: ignore[attr-defined] - read by health and metrics
        for name, spec in config.connectors.items():
            self.connectors[name].concurrency = spec.concurrency   # before start: pools are sized by it
        self.pipeline = Pipeline(config, self.connectors, signer=self.signing.sign, breakers=self.breakers,
                                 verifier=self.signing.verify_step)
        self.gateway = Gateway(config, self.store, catalog, self.bus.publish)
        procedures.install(procedures.CachedCatalogue(self.store))  # for the check_procedure step

    def start(self, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Migrate the store, declare the bus topology, start the connectors. The store and the bus are waited
        for while they are unreachable (hub/startup.py). False when ``cancelled`` turned true meanwhile."""
        if until_up("the store", self.store.migrate, cancelled) is None and cancelled():
            return False
        if until_up("the bus", self.bus.declare, cancelled) is None and cancelled():
            return False
        for connector in self.connectors.values():
            connector.start()
        return True

    def stop(self) -> None:
        for connector in self.connectors.values():
            try:
                connector.stop()
            except Exception:  # noqa: BLE001 - stop must never raise (nameko's rule for teardown)
                log.exception("connector %s failed to stop", connector.name)
        self.bus.close()
        self.store.close()
        procedures.install(None)

    # --- the dispatcher's work -------------------------------------------------------------------
    def dispatch(self, connector: str, body: Any, guard: Any = None) -> None:
        """Handle one bus message from ``connector``'s queue. Raises only when the outcome could not be
        recorded: the message is then requeued and nothing is acknowledged without its record."""
        did = body.get("delivery") if isinstance(body, dict) else None
        if not isinstance(did, str):
            log.error("bus message without a delivery id dropped from %s", connector)
            return
        lease = self.lease_for(connector)
        ordered = self._ordered(did)
        # Only an ordered delivery is announced to the process's waiters (the others stay off that bookkeeping),
        # and before its claim: a dossier's state and its step arrive in one bus burst, and the step's claim runs
        # while the state's is still on its way to the store. Announced from here, the step waits for the state in
        # this process; announced after the claim, it found the state pending, not in hand, and was parked.
        with self.in_hand.handling(did) if ordered else contextlib.nullcontext():
            claimed = self._claim_ordered(connector, did, lease) if ordered else self.store.claim(did, lease)
            if claimed is None:
                return  # finished, waiting for its retry time, or in flight elsewhere: not sent again
            started = time.perf_counter()
            with message_context(claimed.message.id, claimed.message.correlation_id):
                outcome, hops = self.pipeline.attempt(claimed, guard) if guard else self.pipeline.attempt(claimed)
                faultpoints.reached("after_send")
                self.store.finish(claimed, outcome, hops)
        metrics.record_attempt(connector, outcome.state, outcome.code, time.perf_counter() - started)
        if ordered and outcome.state != "retry_wait":  # the next update of this subject need not wait for a sweep
            try:
                self._publish_known(ordering.release_next(self.store, did))
            except Exception:  # noqa: BLE001 - the outcome is recorded; the retry sweep publishes the next one
                log.warning("could not release the delivery waiting behind %s", did)

    def _claim_ordered(self, connector: str, did: str, lease: float) -> ClaimedDelivery | None:
        """An ordered claim; behind a delivery this process is handling, wait for it here and claim again
        (hub/in_hand.py) rather than park. Each wait is bounded by the connector's timeout (the one before is an
        attempt bounded by it); after LOCAL_WAITS waits, or behind one handled elsewhere, the store parks it."""
        spec = self.config.connectors.get(connector)
        bound = spec.timeout if spec else 30.0
        for _ in range(LOCAL_WAITS):
            waiting_for: list[Any] = []

            def behind_here(blocker: str) -> bool:
                event = self.in_hand.event(blocker)
                if event is not None:
                    waiting_for.append(event)
                return event is not None
            claimed = self.store.claim(did, lease, ordered=True, behind_here=behind_here)
            if claimed is not None or not waiting_for:
                return claimed
            waiting_for[0].wait(bound)
        return self.store.claim(did, lease, ordered=True)

    def lease_for(self, connector: str) -> float:
        """How long a claimed delivery belongs to its worker. It outlives the longest attempt (the connector's
        bound per attempt, plus room to record the outcome), so only a dead or stuck worker's delivery is taken
        over; the dispatcher stops a handler that runs past it."""
        spec = self.config.connectors.get(connector)
        return (spec.timeout + 10) if spec else 60.0

    def _ordered(self, delivery_id: str) -> bool:
        """Route option ``ordered: subject``: deliveries of one subject go out in the order they were accepted."""
        route = self.pipeline.routes.get(delivery_id.rsplit("/", 1)[-1])
        return route is not None and route.options.get("ordered") == "subject"

    def _circuit_reporter(self, connector: str):  # noqa: ANN202
        """Breaker changes go to the store, so /readyz of any process (the gateway) shows every worker's view."""
        def report(state: str, failures: int) -> None:
            try:
                circuits.report(self.store, connector, state, failures)
            except Exception:  # noqa: BLE001 - a lost report must never fail a delivery
                log.warning("could not record the %s circuit state", connector)
        return report

    # --- the scheduler's work --------------------------------------------------------------------
    def poll_connectors(self) -> int:
        """Pull from partners that only offer pull; each item enters like a callback. A connector with an
        ``acknowledge(items)`` method hears that its items were stored, so the partner may forget them."""
        ingested = 0
        for name, connector in self.connectors.items():
            if "poll" not in connector.capabilities:
                continue
            try:
                items = connector.poll()
                for item in items:
                    try:
                        self.gateway.ingest(name, item)
                    except RequestError as exc:  # a partner item the hub cannot take: logged, not retried forever
                        log.error("poll of %s: item %s refused: [%s] %s", name, item.id, exc.code, exc.detail)
            except HubError as exc:  # store, bus or partner away: nothing acknowledged, the next poll retries
                log.warning("poll of %s skipped: [%s] %s", name, exc.code, exc.detail)
                continue
            if items and hasattr(connector, "acknowledge"):
                connector.acknowledge(items)
            ingested += len(items)
        return ingested

    def sweep_retries(self) -> int:
        refs = self.store.due_retries()
        self._publish_known(refs)
        return len(refs)

    def sweep_stale(self, older_than: float = 60.0) -> int:
        # Only what is really lost goes out again: while a connector's queue still holds messages, its pending
        # deliveries are most likely in there, waiting their turn (see Bus.backlogged).
        backlogged = self.bus.backlogged(self.connectors) or ()
        refs = self.store.stale(older_than, backlogged=backlogged)
        self._publish_known(refs)
        return len(refs)

    def _publish_known(self, refs: list[DeliveryRef]) -> None:
        self.bus.publish([r for r in refs if r.connector in self.connectors])

    # --- health ----------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Readiness: store, bus, signing keys, each connector (hub.health has the rules)."""
        from hub.health import readiness
        return readiness(self)
