"""Dispatchers: one nameko service per connector, so each has its own concurrency limit and prefetch."""
from __future__ import annotations

import logging
import time

import eventlet
from eventlet.semaphore import Semaphore

from hub import errors
from hub.bus import delivery_ids, delivery_queue
from hub.contracts import Connector, Reply
from hub.errors import TransientError
from hub.runtime import HubRuntime
from hub.services.consumer import consume_deliveries
from hub.services.deps import Runtime

stuck_log = logging.getLogger("hub.stuck")


class Stuck(errors.HubError):
    """A handler ran past its lease: stopped where it waited, so it cannot hold a worker slot forever."""


def handler_slots(concurrency: int) -> int:
    """Deliveries one dispatcher holds at once: its connector's ``concurrency`` in partner calls, and as many again
    claiming or recording an outcome around those calls. With one slot per call, every claim and every outcome
    commit kept a partner slot idle (slow partner, 128 slots: 317 ms per slot for a 221 ms call). It also sizes the
    bus messages taken at once (nameko workers, prefetch), each carrying one delivery or a burst of them."""
    return 2 * concurrency


def bounded(timeout: float, calls: int | None = None):  # noqa: ANN201
    """Bound the total time of one attempt (an HTTP client's own timeout is per socket read only), the wait for one
    of the connector's ``calls`` partner slots included: a partner never sees more than ``concurrency`` calls at
    once from one process, and no attempt outlives its bound (the lease is counted from it)."""
    gate = Semaphore(calls) if calls else None

    def guard(connector: Connector, send) -> Reply:  # noqa: ANN001
        started = time.monotonic()
        if gate is not None and not gate.acquire(timeout=timeout):
            raise TransientError(errors.DLV_TIMEOUT, f"no free slot to {connector.name} within {timeout:g} s: "
                                                     f"all {calls} calls in flight were still waiting for answers")
        try:
            left = max(timeout - (time.monotonic() - started), 0.001)
            with eventlet.Timeout(left, TransientError(errors.DLV_TIMEOUT,
                                                       f"{connector.name} gave no answer within {timeout:g} s")):
                return send()
        finally:
            if gate is not None:
                gate.release()
    return guard


def make_dispatcher(runtime: HubRuntime, connector: str) -> type:
    spec = runtime.config.connectors[connector]
    guard = bounded(spec.timeout, spec.concurrency)
    # The handling of each delivery (claim, attempt, record) is bounded by its lease: past it another worker may
    # take the delivery anyway, and a handler stuck on a broken connection would otherwise hold one of the
    # connector's slots for good - enough of them and the consumer stops taking messages, silently.
    lease = runtime.lease_for(connector)
    # Deliveries in hand at once, whatever the bus messages carry: one delivery waits for a slot BEFORE its claim,
    # so a burst never leases more than the dispatcher can start (its lease is counted from the claim).
    slots = Semaphore(handler_slots(spec.concurrency))

    def deliver_one(hub: HubRuntime, did: str) -> None:
        with slots:
            stuck = Stuck(errors.STUCK, f"a {connector} delivery handler ran past its {lease:g} s lease")
            try:
                with eventlet.Timeout(lease, stuck):
                    hub.dispatch(connector, {"delivery": did}, guard)
            except errors.UnavailableError:
                eventlet.sleep(1)  # the store is away: do not spin on requeues
                raise
            except Stuck:
                stuck_log.error("%s: stopped where it waited (stack below); the message is requeued", stuck.detail,
                                exc_info=True)
                raise

    class Dispatcher:
        name = f"dispatcher_{connector}"
        hub = Runtime(runtime)

        # requeue_on_error: a handler that could not record its outcome never acknowledges silently
        @consume_deliveries(delivery_queue(connector, runtime.bus.quorum), requeue_on_error=True)
        def deliver(self, body):  # noqa: ANN001, ANN201
            ids = delivery_ids(body)
            if not ids:
                self.hub.dispatch(connector, body)   # logged and dropped there: it names nothing to claim
            elif len(ids) == 1:
                deliver_one(self.hub, ids[0])
            else:
                each(lambda did: deliver_one(self.hub, did), ids)

    Dispatcher.__name__ = Dispatcher.__qualname__ = f"Dispatcher_{connector}"
    return Dispatcher


def each(work, items: list[str]) -> None:  # noqa: ANN001
    """``work(item)`` for every item at once, in green threads; returns when all are done, then raises the first
    failure (the bus message is requeued: the deliveries already recorded are not sent again, their claim says
    so). A handler killed while waiting takes its green threads with it."""
    threads = [eventlet.spawn(work, item) for item in items]
    failure: BaseException | None = None
    try:
        for thread in threads:
            try:
                thread.wait()
            except Exception as exc:  # noqa: BLE001 - the others still finish and record their outcomes
                failure = failure or exc
    except BaseException:
        for thread in threads:
            thread.kill()
        raise
    if failure is not None:
        raise failure
