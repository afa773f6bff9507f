"""Operator diagnostics for a hub process that seems stuck: ``kill -USR2 <pid>`` writes the stack of every green
thread to the log (one JSON line each), so a worker that stopped consuming shows where it waits.

py-spy sees only the OS thread that eventlet multiplexes; the green threads are greenlet objects, found here
through the garbage collector's list of live objects.
"""
from __future__ import annotations

import gc
import logging
import signal
import traceback
from typing import Any

import greenlet

log = logging.getLogger("hub.diagnostics")


def green_stacks() -> list[str]:
    """The current stack of every live green thread, innermost call last."""
    stacks = []
    for obj in _live_objects():
        if isinstance(obj, greenlet.greenlet) and obj.gr_frame is not None:
            stacks.append("".join(traceback.format_stack(obj.gr_frame)))
    return stacks


def _live_objects() -> list[Any]:
    """Every object the collector tracks, those frozen at start-up included (hub/services/runner.py settle_memory):
    ``gc.get_objects`` leaves the frozen ones out, and the consumers' green threads were started before the freeze.
    A dump is a rare operator action, so the freeze is lifted for the look and laid again (on what lives now)."""
    frozen = gc.get_freeze_count() > 0
    if frozen:
        gc.unfreeze()
    try:
        return gc.get_objects()
    finally:
        if frozen:
            gc.freeze()


def dump(_signum: int = 0, _frame: Any = None) -> None:
    stacks = green_stacks()
    log.warning("green thread dump: %d threads", len(stacks))
    for number, stack in enumerate(stacks, 1):
        log.warning("green thread %d/%d:\n%s", number, len(stacks), stack)


def install() -> None:
    """SIGUSR2 dumps the green threads (SIGUSR1 is left to the platform's own tools)."""
    if hasattr(signal, "SIGUSR2"):
        signal.signal(signal.SIGUSR2, dump)
