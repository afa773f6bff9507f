"""No hub task can hold a worker slot or a timer forever: a delivery handler is stopped at its lease, a sweep or
poll at its bound, each logged with the stack of where it waited (hub/services/dispatcher.py, scheduler.py)."""
from __future__ import annotations

import logging
from types import SimpleNamespace

import eventlet
import pytest
from nameko.testing.services import worker_factory

from hub import errors
from hub.services import scheduler as scheduler_module
from hub.services.dispatcher import Stuck, bounded, handler_slots, make_dispatcher


def _waits_forever(*_args, **_kwargs) -> None:  # noqa: ANN002, ANN003
    eventlet.sleep(3600)   # a read on a connection whose peer vanished without a reset


def _runtime(**methods) -> SimpleNamespace:  # noqa: ANN003
    config = SimpleNamespace(connectors={"echo": SimpleNamespace(timeout=0.1, concurrency=2)},
                             settings=SimpleNamespace(retry_sweep_interval=0.05))
    return SimpleNamespace(config=config, bus=SimpleNamespace(quorum=False), lease_for=lambda _c: 0.3, **methods)


def test_a_stuck_delivery_handler_is_stopped_at_its_lease_and_requeued(caplog) -> None:
    runtime = _runtime(dispatch=_waits_forever)
    service = worker_factory(make_dispatcher(runtime, "echo"), hub=runtime)
    started = eventlet.hubs.get_hub().clock()
    with caplog.at_level(logging.ERROR, logger="hub.stuck"), pytest.raises(Stuck) as raised:
        service.deliver({"delivery": "m-1/route"})   # raising = nameko requeues (requeue_on_error)
    assert eventlet.hubs.get_hub().clock() - started < 2
    assert raised.value.code == errors.STUCK
    record = next(r for r in caplog.records if r.name == "hub.stuck")
    assert "_waits_forever" in "".join(__import__("traceback").format_exception(*record.exc_info)), \
        "the log names where the handler waited"


def test_a_quick_handler_is_not_disturbed() -> None:
    seen = []
    runtime = _runtime(dispatch=lambda connector, body, guard: seen.append((connector, body)))
    make = make_dispatcher(runtime, "echo")
    worker_factory(make, hub=runtime).deliver({"delivery": "m-2/route"})
    assert seen == [("echo", {"delivery": "m-2/route"})]


@pytest.mark.parametrize("method, hub_call", [("sweep", "sweep_retries"), ("poll", "poll_connectors")])
def test_a_stuck_sweep_or_poll_is_stopped_so_the_timer_ticks_again(monkeypatch, caplog, method, hub_call) -> None:
    monkeypatch.setattr(scheduler_module, "TICK_BOUND", 0.2)
    runtime = _runtime(**{hub_call: _waits_forever})
    service = worker_factory(scheduler_module.make_scheduler(runtime), hub=runtime)
    with caplog.at_level(logging.ERROR, logger="hub.scheduler"):
        getattr(service, method)()   # returns: the timer waits for this worker before its next tick
    assert any("stopped where it waited" in r.getMessage() for r in caplog.records)


# --- partner slots: a dispatcher holds twice its connector's concurrency in deliveries, never more calls ---------

def test_dispatchers_hold_twice_the_concurrency_in_deliveries(monkeypatch) -> None:
    import hub.services.runner as runner
    monkeypatch.setattr(runner, "make_dispatcher", lambda _runtime, name: name)
    monkeypatch.setattr(runner, "make_scheduler", lambda _runtime: "scheduler")
    connectors = {"echo": SimpleNamespace(concurrency=128), "sms": SimpleNamespace(concurrency=3)}
    runtime = SimpleNamespace(config=SimpleNamespace(connectors=connectors))
    assert dict(runner.service_classes(runtime, "worker")) == {"echo": 256, "sms": 6, "scheduler": 2}
    assert handler_slots(10) == 20


class _Peak:
    """Counts how many calls run at once; ``peak``: the most seen together."""

    def __init__(self) -> None:
        self.now = self.peak = 0

    def call(self, seconds: float = 0.02) -> str:
        self.now += 1
        self.peak = max(self.peak, self.now)
        eventlet.sleep(seconds)
        self.now -= 1
        return "ok"


def test_no_more_partner_calls_at_once_than_the_connector_concurrency() -> None:
    guard = bounded(timeout=2.0, calls=3)
    connector = SimpleNamespace(name="echo")
    calls = _Peak()
    send = calls.call

    pool = eventlet.GreenPool(12)
    answers = list(pool.imap(lambda _i: guard(connector, send), range(12)))
    assert answers == ["ok"] * 12
    assert calls.peak == 3, "twelve handlers at once, three partner calls at most"


def test_waiting_for_a_partner_slot_counts_in_the_attempt_bound() -> None:
    guard = bounded(timeout=0.2, calls=1)
    connector = SimpleNamespace(name="echo")
    eventlet.spawn(guard, connector, lambda: eventlet.sleep(5))   # holds the only slot, partner never answers
    eventlet.sleep(0)
    started = eventlet.hubs.get_hub().clock()
    with pytest.raises(errors.TransientError) as raised:
        guard(connector, lambda: pytest.fail("sent without a free slot"))
    assert eventlet.hubs.get_hub().clock() - started < 1
    assert raised.value.code == errors.DLV_TIMEOUT and "no free slot to echo" in raised.value.detail
    # the slot comes back when the stuck call hits its own bound
    eventlet.sleep(0.3)
    assert guard(connector, lambda: "sent") == "sent"


def test_the_answered_hop_times_the_partner_call_not_the_wait_for_a_slot() -> None:
    from hub.config.model import HubConfig, HubSettings, RouteConfig
    from hub.contracts import Connector, Reply
    from hub.message import Message, utcnow
    from hub.pipeline import Pipeline
    from hub.store import ClaimedDelivery

    class Quick(Connector):
        type_name = "test-quick"
        capabilities = frozenset({"send"})

        def send(self, delivery) -> Reply:  # noqa: ANN001
            eventlet.sleep(0.01)
            return Reply(status=200)

    connector = Quick("quick", {}, None)
    route = RouteConfig(name="r", types=("demo.ping",), to="quick")
    config = HubConfig(directory="config", settings=HubSettings(), clients={}, connectors={}, routes=(route,))
    claimed = ClaimedDelivery(id="m-1/r", message=Message(id="m-1", type="demo.ping", source="demo", payload={}),
                              route="r", connector="quick", attempts=1, window_start=utcnow())
    guard = bounded(timeout=5, calls=1)
    holder = eventlet.spawn(guard, connector, lambda: eventlet.sleep(0.3))   # the only slot, for 0.3 s
    eventlet.sleep(0)
    outcome, hops = Pipeline(config, {"quick": connector}).attempt(claimed, guard)
    holder.wait()
    answered = next(h for h in hops if h.kind == "answered")
    assert outcome.state == "delivered"
    assert 5 <= answered.duration_ms < 150, "waited 300 ms for the slot; the call itself took 10 ms"


def test_a_dispatcher_gates_its_partner_calls_at_the_connector_concurrency() -> None:
    """Through make_dispatcher, as the worker runs it: twice the concurrency in handlers, never more calls."""
    calls = _Peak()
    send = calls.call

    runtime = _runtime(dispatch=lambda connector, body, guard: guard(SimpleNamespace(name=connector), send))
    runtime.lease_for = lambda _c: 5.0
    service = worker_factory(make_dispatcher(runtime, "echo"), hub=runtime)   # the helper's echo: concurrency 2
    pool = eventlet.GreenPool(handler_slots(2))
    list(pool.imap(lambda i: service.deliver({"delivery": f"m-{i}/route"}), range(12)))
    assert calls.peak == 2, "four handlers at once, two partner calls at most"


# --- bus messages carrying a burst of deliveries (hub/bus.py) ---------------------------------------------------

def test_a_burst_is_handled_delivery_by_delivery_at_once_within_the_dispatcher_slots() -> None:
    """Each delivery of a burst is dispatched alone and concurrently, but never more at once than the dispatcher's
    slots (twice the concurrency: 4 for the helper's echo), however many bursts arrive together."""
    in_hand, seen = _Peak(), []

    def dispatch(connector, body, guard):  # noqa: ANN001, ANN202
        in_hand.call()
        seen.append(body)

    runtime = _runtime(dispatch=dispatch)
    runtime.lease_for = lambda _c: 5.0
    service = worker_factory(make_dispatcher(runtime, "echo"), hub=runtime)
    bursts = [{"deliveries": [f"m-{b}-{i}/route" for i in range(6)]} for b in range(3)]
    started = eventlet.hubs.get_hub().clock()
    list(eventlet.GreenPool(3).imap(service.deliver, bursts))
    elapsed = eventlet.hubs.get_hub().clock() - started
    assert sorted(b["delivery"] for b in seen) == sorted(d for b in bursts for d in b["deliveries"])
    assert in_hand.peak == handler_slots(2) == 4, "18 deliveries in hand, 4 at most at once"
    assert elapsed < 18 * 0.02, "the deliveries of a burst ran at once, not one after the other"


def test_a_burst_with_one_failure_finishes_the_others_then_requeues() -> None:
    done = []

    def dispatch(connector, body, guard):  # noqa: ANN001, ANN202
        if body["delivery"] == "bad/route":
            raise errors.UnavailableError(errors.STORE_UNAVAILABLE, "the store is away")
        eventlet.sleep(0.01)
        done.append(body["delivery"])

    runtime = _runtime(dispatch=dispatch)
    runtime.lease_for = lambda _c: 5.0
    service = worker_factory(make_dispatcher(runtime, "echo"), hub=runtime)
    with pytest.raises(errors.UnavailableError):   # raising = nameko requeues the whole bus message
        service.deliver({"deliveries": ["a/route", "bad/route", "b/route"]})
    assert sorted(done) == ["a/route", "b/route"], "the others were recorded before the requeue"


def test_a_stuck_delivery_of_a_burst_is_stopped_at_its_own_lease(caplog) -> None:
    done = []

    def dispatch(connector, body, guard):  # noqa: ANN001, ANN202
        if body["delivery"] == "stuck/route":
            _waits_forever()
        done.append(body["delivery"])

    runtime = _runtime(dispatch=dispatch)   # lease 0.3 s
    service = worker_factory(make_dispatcher(runtime, "echo"), hub=runtime)
    started = eventlet.hubs.get_hub().clock()
    with caplog.at_level(logging.ERROR, logger="hub.stuck"), pytest.raises(Stuck):
        service.deliver({"deliveries": ["a/route", "stuck/route"]})
    assert eventlet.hubs.get_hub().clock() - started < 2 and done == ["a/route"]


def test_a_bus_message_naming_no_delivery_goes_to_the_runtime_to_be_logged_and_dropped() -> None:
    seen = []
    runtime = _runtime(dispatch=lambda connector, body, guard=None: seen.append(body))
    worker_factory(make_dispatcher(runtime, "echo"), hub=runtime).deliver({"deliveries": [1, None]})
    assert seen == [{"deliveries": [1, None]}]
