"""Keeps every service container of a hub process alive.

nameko kills a whole container when one of its threads dies of an unexpected error (for instance a consumer whose
broker connection broke in a way kombu does not classify as a connection error, or an acknowledgement on a channel
that is already gone). nameko's own runner then stops the process; the hub's process used to keep running with
that container dead, so a worker could look healthy while its dispatcher consumed nothing. Here each container
has a watcher: a container that dies while the process is not stopping is logged, counted and started again.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import eventlet
from nameko.containers import ServiceContainer

from hub import metrics

log = logging.getLogger("hub.runner")

#: seconds between a container's death and its new start (a container that dies at once does not spin)
RESTART_DELAY = 1.0


class Supervisor:
    def __init__(self) -> None:
        self.stopping = False
        self.containers: list[ServiceContainer] = []
        self._watchers: list[Any] = []

    def start(self, cls: type, config: dict[str, Any]) -> ServiceContainer:
        container = ServiceContainer(cls, config)
        container.start()
        self.containers.append(container)
        self._watchers.append(eventlet.spawn(self._watch, container, lambda: ServiceContainer(cls, config)))
        return container

    def _watch(self, container: ServiceContainer, make: Callable[[], ServiceContainer]) -> None:
        while True:
            try:
                container.wait()
                reason = "stopped"
            except Exception as exc:  # noqa: BLE001 - the container died of it; it is reported below
                reason = f"{type(exc).__name__}: {exc}"
            if self.stopping:
                return
            name = container.service_name
            log.critical("service %s died (%s); starting it again in %g s", name, reason, RESTART_DELAY)
            metrics.record_service_restart(name)
            eventlet.sleep(RESTART_DELAY)
            if self.stopping:
                return
            replacement = make()
            try:
                replacement.start()
            except Exception:  # noqa: BLE001 - try again after the delay; the loop waits on the dead one
                log.exception("service %s could not start again", name)
                replacement.kill()
            self.containers[self.containers.index(container)] = replacement
            container = replacement

    def stop_all(self, stop_one: Callable[[ServiceContainer], None]) -> None:
        """Stop every container in parallel (see HubProcess.stop), watchers first so none restarts."""
        self.stopping = True
        pool = eventlet.GreenPool(len(self.containers) or 1)
        for container in reversed(self.containers):
            pool.spawn(stop_one, container)
        pool.waitall()
        for watcher in self._watchers:
            watcher.kill()
