"""Starting a hub process while the broker or the database is not up yet (or restarting).

A worker started while RabbitMQ is down used to die on its first topology declaration, so "start the workers,
then the broker" or a broker restart during a deploy left a province without workers. Now each process waits for
what it needs, logging why, with a growing pause, until it is there or the process is told to stop. What is not
an outage (a wrong password, a refused vhost, a bad schema) still fails at once: waiting would not mend it.
"""
from __future__ import annotations

import logging
import socket
import time
from typing import Callable, TypeVar

log = logging.getLogger("hub.startup")
T = TypeVar("T")

FIRST_PAUSE = 1.0
MAX_PAUSE = 15.0
#: words of a database driver's message that say "not reachable (yet)", not "wrong"
_DB_NOT_UP = ("connection refused", "could not connect", "the database system is starting up",
              "the database system is shutting down", "server closed the connection", "timeout expired",
              "no route to host", "connection reset", "is not accepting connections",
              "is not currently accepting connections", "terminating connection due to administrator command")


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the service is not reachable, as opposed to refusing us."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError,
                                socket.timeout, TimeoutError, socket.gaierror)):
            return True
        if any(words in str(current).lower() for words in _DB_NOT_UP) or "econnrefused" in str(current).lower():
            return True
        current = current.__cause__ or current.__context__
    return False


def until_up(what: str, action: Callable[[], T], cancelled: Callable[[], bool] = lambda: False,
             sleep: Callable[[float], None] = time.sleep) -> T | None:
    """Run ``action`` until it succeeds; an outage is retried after a pause (1 s, doubling to 15 s), anything
    else raised. None when ``cancelled`` turned true while waiting."""
    pause = FIRST_PAUSE
    while True:
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - sorted below: an outage waits, anything else is raised
            if not is_outage(exc):
                raise
            log.warning("%s is not reachable (%s: %s); trying again in %g s", what, type(exc).__name__, exc, pause)
        waited = 0.0
        while waited < pause:
            if cancelled():
                return None
            sleep(0.2)
            waited += 0.2
        pause = min(pause * 2, MAX_PAUSE)
