"""Dispatchers: one nameko service per connector, so each has its own concurrency limit and prefetch."""
from __future__ import annotations

import logging

import eventlet

from hub import errors
from hub.bus import delivery_queue
from hub.contracts import Connector, Reply
from hub.errors import TransientError
from hub.runtime import HubRuntime
from hub.services.consumer import consume_deliveries
from hub.services.deps import Runtime

stuck_log = logging.getLogger("hub.stuck")


class Stuck(errors.HubError):
    """A handler ran past its lease: stopped where it waited, so it cannot hold a worker slot forever."""


def bounded(timeout: float):  # noqa: ANN201
    """Bound the total time of one attempt (requests' own timeout is per socket read only)."""
    def guard(connector: Connector, send) -> Reply:  # noqa: ANN001
        with eventlet.Timeout(timeout, TransientError(errors.DLV_TIMEOUT,
                                                      f"{connector.name} gave no answer within {timeout:g} s")):
            return send()
    return guard


def make_dispatcher(runtime: HubRuntime, connector: str) -> type:
    spec = runtime.config.connectors[connector]
    guard = bounded(spec.timeout)
    # The whole handler (claim, attempt, record) is bounded by the delivery's lease: past it another worker may
    # take the delivery anyway, and a handler stuck on a broken connection would otherwise hold one of the
    # connector's worker slots for good - enough of them and the consumer stops taking messages, silently.
    lease = runtime.lease_for(connector)

    class Dispatcher:
        name = f"dispatcher_{connector}"
        hub = Runtime(runtime)

        # requeue_on_error: a handler that could not record its outcome never acknowledges silently
        @consume_deliveries(delivery_queue(connector, runtime.bus.quorum), requeue_on_error=True)
        def deliver(self, body):  # noqa: ANN001, ANN201
            stuck = Stuck(errors.STUCK, f"a {connector} delivery handler ran past its {lease:g} s lease")
            try:
                with eventlet.Timeout(lease, stuck):
                    self.hub.dispatch(connector, body, guard)
            except errors.UnavailableError:
                eventlet.sleep(1)  # the store is away: do not spin on requeues
                raise
            except Stuck:
                stuck_log.error("%s: stopped where it waited (stack below); the message is requeued", stuck.detail,
                                exc_info=True)
                raise

    Dispatcher.__name__ = Dispatcher.__qualname__ = f"Dispatcher_{connector}"
    return Dispatcher
