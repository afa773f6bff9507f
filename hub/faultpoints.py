"""Named fault points for the fault harness (tests/faults/), in the spirit of Jepsen and X-Road's scenario tests.

A process started with ``HUB_FAULT_CRASH=<point>:<n>`` dies with ``os._exit`` - no cleanup, no acknowledgement,
exactly like a SIGKILL - the n-th time it passes ``<point>``. Points:

* ``after_send``: the partner has answered, the outcome is not yet recorded (the hardest moment for "effects once").

Unset (production), :func:`reached` is one dictionary lookup.
"""
from __future__ import annotations

import os
import threading

_SPEC = os.environ.get("HUB_FAULT_CRASH", "")
_POINT, _, _COUNT = _SPEC.partition(":")
_lock = threading.Lock()
_seen = 0


def reached(point: str) -> None:
    global _seen
    if not _SPEC or point != _POINT:
        return
    with _lock:
        _seen += 1
        if _seen >= int(_COUNT or 1):
            os._exit(137)
