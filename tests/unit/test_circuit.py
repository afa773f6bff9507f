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


def test_changes_are_reported_and_read_back_from_the_store(tmp_path):
    """A worker's open breaker shows in the gateway's readiness (both read the same store)."""
    from hub.store import Store, circuits

    store = Store(f"sqlite:///{tmp_path}/hub.db")
    store.migrate()
    seen = []
    clock = Clock()
    b = CircuitBreaker(CircuitPolicy(failures=2, open_for=10), clock,
                       on_change=lambda state, n: (seen.append(state), circuits.report(store, "dvcqg", state, n)))
    b.record_failure()
    assert seen == [] and circuits.not_closed(store, 60) == {}
    b.record_failure()
    assert seen == ["open"]
    [row] = circuits.not_closed(store, 60)["dvcqg"]
    assert row["state"] == "open" and row["failures"] == 2
    clock.now = 11
    assert b.allow() is None
    b.record_failure()                       # failed probe: reported again (keeps the report fresh)
    assert seen == ["open", "open"]
    clock.now = 40
    b.allow()
    b.record_success()
    assert seen[-1] == "closed" and circuits.not_closed(store, 60) == {}
