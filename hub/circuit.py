"""A circuit breaker per connector: stop hammering a partner that is down, probe it until it is back.

closed --(N transient failures in a row)--> open --(cool-off elapsed)--> half_open --(probe ok)--> closed
                                              ^-------------------(probe failed: cool-off doubles)--'
While open, deliveries are not sent: they wait in the store until the breaker lets a probe through, and the
wait does not count as an attempt (a long outage must not turn good messages into dead letters).
State is per process: each hub process learns about the partner from its own attempts.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class CircuitPolicy:
    failures: int = 5             # transient failures in a row that open the circuit
    open_for: float = 5.0         # first cool-off, seconds
    max_open_for: float = 300.0   # the cool-off doubles up to this


class CircuitBreaker:
    def __init__(self, policy: CircuitPolicy, clock: Callable[[], float] = time.monotonic,
                 on_change: Callable[[str, int], None] | None = None) -> None:
        self.policy = policy
        self.on_change = on_change    # told (state, failures) after each change, outside the lock
        self.clock = clock
        self._lock = threading.Lock()
        self.state = "closed"
        self.failures = 0
        self.cool_off = policy.open_for
        self.opened_at = 0.0
        self._probe_out = False

    def allow(self) -> float | None:
        """None when an attempt may go to the partner; otherwise seconds until the next probe."""
        with self._lock:
            if self.state == "closed":
                return None
            remaining = self.opened_at + self.cool_off - self.clock()
            if self.state == "open" and remaining <= 0:
                self.state, self._probe_out = "half_open", False  # not reported: a probe decides in a moment
            if self.state == "half_open" and not self._probe_out:
                self._probe_out = True   # exactly one probe at a time
                return None
            return max(remaining, 0.5)

    def record_success(self) -> None:
        with self._lock:
            before = self.state
            self.state, self.failures, self.cool_off, self._probe_out = "closed", 0, self.policy.open_for, False
        self._changed(before)

    def record_failure(self) -> None:
        with self._lock:
            before = self.state
            if self.state == "half_open":
                self.cool_off = min(self.cool_off * 2, self.policy.max_open_for)
                self._open()
            else:
                self.failures += 1
                if self.state == "closed" and self.failures >= self.policy.failures:
                    self._open()
        # a failed probe re-opens: reported too, which keeps an open breaker's report fresh
        self._changed(before, force=before == "half_open")

    def _changed(self, before: str, force: bool = False) -> None:
        if self.on_change is not None and (force or self.state != before):
            self.on_change(self.state, self.failures)

    def _open(self) -> None:
        self.state, self.opened_at, self._probe_out = "open", self.clock(), False

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"state": self.state, "consecutive_failures": self.failures, "cool_off_s": self.cool_off}
