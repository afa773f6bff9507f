"""The circuit breaker: opens after N failures, lets exactly one probe through, closes on success."""
from __future__ import annotations

from hub.circuit import CircuitBreaker, CircuitPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_failures_and_probes_once():
    clock = Clock()
    b = CircuitBreaker(CircuitPolicy(failures=3, open_for=10, max_open_for=40), clock)
    for _ in range(2):
        assert b.allow() is None
        b.record_failure()
    assert b.state == "closed"
    b.record_failure()
    assert b.state == "open" and b.allow() == 10
    clock.now = 10.5
    assert b.allow() is None and b.state == "half_open"   # the probe
    assert b.allow() is not None                           # only one probe at a time
    b.record_failure()                                     # probe failed: cool-off doubles
    assert b.state == "open" and b.cool_off == 20
    clock.now = 31
    assert b.allow() is None
    b.record_success()
    assert b.state == "closed" and b.allow() is None and b.cool_off == 10


def test_cool_off_is_capped_and_success_resets_the_count():
    clock = Clock()
    b = CircuitBreaker(CircuitPolicy(failures=2, open_for=10, max_open_for=25), clock)
    b.record_failure()
    b.record_success()
    b.record_failure()
    assert b.state == "closed"
    b.record_failure()
    for _ in range(4):
        clock.now += 100
        assert b.allow() is None
        b.record_failure()
    assert b.cool_off == 25
