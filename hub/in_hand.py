"""The deliveries this process is handling, so an ordered delivery behind one of them waits for it here.

Per-subject ordering (hub/store/ordering.py) parks a delivery whose subject has an earlier unfinished delivery on
the same connector: a write to park it, a look to see whether the one before finished meanwhile, a write by the
one before to release it, a publish and a second bus delivery to start it again. A one-stop system sends a
dossier's state and its first step one after the other; they mostly travel in one bus burst to one worker, and
the step then finds the state in flight in that very process (bench/README.md, dvcqg-sync). Then there is
nothing to park: the step waits, in this process, for the state's outcome to be recorded and claims again. The
order itself is still decided by the store at that second claim; only the churn is gone.

Only ordered deliveries are announced here (the hot path of the others stays as it was); behind an earlier
delivery of an unordered route of the same dossier and partner, a delivery is parked as before.
A delivery is announced when its handler starts, before its claim (the step's claim, in the same burst, often
runs while the state's claim is still on its way to the store). A handler announced here holds a dispatcher
slot, so it will finish, find nothing to claim, or time out, whatever the waiters do, and its event is set in
each case; the wait cannot close a circle (an earlier delivery never waits for a later one). A wait is bounded;
past it, or when the one before is elsewhere, the delivery is parked as before.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator


class InHand:
    """delivery id -> an event set once its outcome is recorded (or its handler gave up)."""

    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}

    @contextmanager
    def handling(self, delivery_id: str) -> Iterator[None]:
        done = self._events[delivery_id] = threading.Event()
        try:
            yield
        finally:
            if self._events.get(delivery_id) is done:
                del self._events[delivery_id]
            done.set()

    def event(self, delivery_id: str) -> threading.Event | None:
        """The event of a delivery handled here now, else None."""
        return self._events.get(delivery_id)

    def __len__(self) -> int:
        return len(self._events)
