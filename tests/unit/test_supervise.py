"""A service container that dies while the process runs is started again (hub/services/supervise.py)."""
from __future__ import annotations

import eventlet
from nameko.timer import timer

from hub import metrics
from hub.services.supervise import Supervisor

TICKS: list[int] = []


class Ticker:
    name = "ticker"

    @timer(interval=0.02)
    def tick(self) -> None:
        TICKS.append(1)


def _restarts() -> float:
    return metrics.REGISTRY.get_sample_value("hub_service_restarts_total", {"service": "ticker"}) or 0.0


def _wait(predicate, timeout: float = 5.0) -> bool:  # noqa: ANN001
    deadline = eventlet.hubs.get_hub().clock() + timeout
    while not predicate() and eventlet.hubs.get_hub().clock() < deadline:
        eventlet.sleep(0.02)
    return predicate()


def test_a_container_killed_by_an_error_is_replaced_and_works_again() -> None:
    supervisor = Supervisor()
    first = supervisor.start(Ticker, {})
    restarts = _restarts()
    try:
        assert _wait(lambda: len(TICKS) > 2), "the service runs"
        first.kill((RuntimeError, RuntimeError("consumer thread died"), None))   # what nameko does on a thread error
        assert _wait(lambda: supervisor.containers[0] is not first), "a dead container is replaced"
        assert _restarts() == restarts + 1, "the restart is counted for the operators' alert"
        TICKS.clear()
        assert _wait(lambda: len(TICKS) > 2), "the replacement does the work"
    finally:
        supervisor.stop_all(lambda c: c.stop())


def test_stopping_the_process_restarts_nothing() -> None:
    supervisor = Supervisor()
    only = supervisor.start(Ticker, {})
    restarts = _restarts()
    supervisor.stop_all(lambda c: c.stop())
    eventlet.sleep(0.1)
    assert supervisor.containers == [only] and _restarts() == restarts
