"""Timers: due retries back onto the bus, and the recovery sweep for what was committed but never consumed."""
from __future__ import annotations

import logging

import eventlet
from nameko.timer import timer

from hub.errors import HubError
from hub.runtime import HubRuntime
from hub.services.deps import Runtime

log = logging.getLogger("hub.scheduler")
STALE_EVERY = 15      # ticks between recovery sweeps
STALE_AFTER = 60.0    # seconds a pending delivery may wait unclaimed before it is published again
#: seconds one sweep or poll may take. nameko's timer waits for its worker before the next tick, so one sweep
#: stuck on a broken connection would stop every later sweep (and with them retries and recovery) for good.
TICK_BOUND = 60.0


def make_scheduler(runtime: HubRuntime) -> type:
    interval = runtime.config.settings.retry_sweep_interval

    class Scheduler:
        name = "scheduler"
        hub = Runtime(runtime)
        ticks = 0

        @timer(interval=interval)
        def sweep(self) -> None:
            type(self).ticks += 1
            try:
                with eventlet.Timeout(TICK_BOUND):
                    self.hub.sweep_retries()
                    if type(self).ticks % STALE_EVERY == 0:
                        self.hub.sweep_stale(STALE_AFTER)
            except eventlet.Timeout:
                log.error("sweep ran past %g s and was stopped where it waited; the next tick retries", TICK_BOUND,
                          exc_info=True)
            except HubError as exc:
                log.warning("sweep skipped: %s", exc)
            except Exception:  # noqa: BLE001 - a failed sweep must not stop the timer; the next one retries
                log.exception("sweep failed")

        @timer(interval=interval)
        def poll(self) -> None:
            """Partners that only offer pull (connectors with a poll capability decide their own pace)."""
            try:
                with eventlet.Timeout(TICK_BOUND):
                    self.hub.poll_connectors()
            except eventlet.Timeout:
                log.error("poll ran past %g s and was stopped where it waited; the next tick retries", TICK_BOUND,
                          exc_info=True)
            except Exception:  # noqa: BLE001 - a failed poll must not stop the timer; the next one retries
                log.exception("poll failed")

    return Scheduler
