"""A hub process started while the broker or the database is down waits for it (hub/startup.py) instead of
dying - the cause of the fault harness's old "workers silent after a broker restart" stall: workers started
during `rabbitmqctl stop_app` exited on their first declaration, and nothing consumed any more."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from kombu.exceptions import OperationalError as KombuOperationalError

from hub.startup import is_outage, until_up


def _refused() -> Exception:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as cause:
        try:
            raise KombuOperationalError("[Errno 111] ECONNREFUSED") from cause
        except KombuOperationalError as exc:
            return exc


def test_outages_are_told_from_refusals() -> None:
    assert is_outage(_refused())
    assert is_outage(sa.exc.OperationalError("connect", {}, Exception(
        'connection to server at "127.0.0.1", port 5432 failed: Connection refused')))
    assert is_outage(sa.exc.OperationalError("connect", {}, Exception("FATAL:  the database system is starting up")))
    assert is_outage(sa.exc.OperationalError("connect", {}, Exception(
        'FATAL:  database "lgsp" is not currently accepting connections')))
    assert not is_outage(sa.exc.OperationalError("connect", {}, Exception(
        'FATAL:  password authentication failed for user "hub"')))
    assert not is_outage(PermissionError("ACCESS_REFUSED - Login was refused"))
    assert not is_outage(ValueError("bad schema"))


def test_waits_through_an_outage_then_succeeds() -> None:
    calls, pauses = [], []

    def declare() -> str:
        calls.append(1)
        if len(calls) < 4:
            raise _refused()
        return "declared"
    assert until_up("the bus", declare, sleep=pauses.append) == "declared"
    assert len(calls) == 4
    waited = sum(pauses)
    assert 1 + 2 + 4 - 0.5 <= waited <= 1 + 2 + 4 + 0.5, "pauses grow: 1 s, 2 s, 4 s"


def test_a_refusal_is_raised_at_once() -> None:
    def declare() -> None:
        raise PermissionError("ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN")
    with pytest.raises(PermissionError):
        until_up("the bus", declare, sleep=lambda _s: pytest.fail("must not wait"))


def test_stopping_while_waiting_gives_up() -> None:
    ticks = []

    def declare() -> None:
        raise _refused()
    assert until_up("the bus", declare, cancelled=lambda: len(ticks) >= 3, sleep=ticks.append) is None
