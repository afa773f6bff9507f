"""Everything one hub process holds, built once from the validated config (no per-message config or key loading)."""
from __future__ import annotations

import logging
from typing import Any

from hub import errors, registry
from hub.bus import Bus
from hub.config.model import ClientConfig, HubConfig
from hub.contracts import Connector, Health
from hub.gateway import Gateway
from hub.pipeline import Pipeline
from hub.store import ClaimedDelivery, DeliveryRef, Store

log = logging.getLogger("hub")


class ConnectorContext:
    """What a connector may ask of the hub (see hub.contracts.ConnectorContext)."""

    def __init__(self, config: HubConfig) -> None:
        self._config = config
        self.sandbox = config.settings.sandbox

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
        self.store = Store(config.settings.store)
        self.bus = Bus(config.settings.transport, config.connectors)
        context = ConnectorContext(config)
        self.connectors: dict[str, Connector] = {
            name: registry.connectors.get(spec.type)(name, spec.options, context)
            for name, spec in config.connectors.items()}
        self.pipeline = Pipeline(config, self.connectors)
        self.gateway = Gateway(config, self.store, catalog, self.bus.publish)

    def start(self) -> None:
        self.store.migrate()
        self.bus.declare()
        for connector in self.connectors.values():
            connector.start()

    def stop(self) -> None:
        for connector in self.connectors.values():
            try:
                connector.stop()
            except Exception:  # noqa: BLE001 - stop must never raise (nameko's rule for teardown)
                log.exception("connector %s failed to stop", connector.name)
        self.bus.close()
        self.store.close()

    # --- the dispatcher's work -------------------------------------------------------------------
    def dispatch(self, connector: str, body: Any, guard: Any = None) -> None:
        """Handle one bus message from ``connector``'s queue. Raises only when the outcome could not be
        recorded: the message is then requeued and nothing is acknowledged without its record."""
        did = body.get("delivery") if isinstance(body, dict) else None
        if not isinstance(did, str):
            log.error("bus message without a delivery id dropped from %s", connector)
            return
        spec = self.config.connectors.get(connector)
        # The lease outlives the longest attempt, so only a dead worker's delivery is taken over.
        lease = (spec.timeout * 2 + 30) if spec else 60
        claimed = self.store.claim(did, lease)
        if claimed is None:
            return  # finished, waiting for its retry time, or in flight elsewhere: not sent again
        outcome, hops = self.pipeline.attempt(claimed, guard) if guard else self.pipeline.attempt(claimed)
        self.store.finish(claimed, outcome, hops)

    # --- the scheduler's work --------------------------------------------------------------------
    def sweep_retries(self) -> int:
        refs = self.store.due_retries()
        self._publish_known(refs)
        return len(refs)

    def sweep_stale(self, older_than: float = 60.0) -> int:
        refs = self.store.stale(older_than)
        self._publish_known(refs)
        return len(refs)

    def _publish_known(self, refs: list[DeliveryRef]) -> None:
        self.bus.publish([r for r in refs if r.connector in self.connectors])

    # --- health ----------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        report: dict[str, Any] = {"status": "ok", "store": "up", "bus": "up", "connectors": {}}
        try:
            self.store.ping()
        except errors.HubError:
            report["store"], report["status"] = "down", "degraded"
        try:
            self.bus.ping()
        except Exception:  # noqa: BLE001 - any failure to reach the broker is "down"
            report["bus"], report["status"] = "down", "degraded"
        for name, connector in self.connectors.items():
            h: Health = connector.check()
            report["connectors"][name] = {"state": h.state, "detail": h.detail, "latency_ms": h.latency_ms}
        return report
