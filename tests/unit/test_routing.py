"""Route matching: types, globs, conditions, fan-out; retry delays."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from hub.config.model import Condition, HubConfig, HubSettings, RetryPolicy, RouteConfig
from hub.message import Message, utcnow
from hub.retry import backoff_delay, next_attempt_at
from hub.routing import condition_holds, route_matches, select_routes


def msg(type_: str = "dossier.progress", **payload) -> Message:
    return Message(id="m1", type=type_, source="demo", payload=payload, subject="000.00.14.H20-231120-0001")


def cond(path: str, op: str, value) -> Condition:
    return Condition(tuple(path.split(".")), op, value)


@pytest.mark.parametrize("condition,expected", [
    (cond("payload.status", "eq", 4), True),
    (cond("payload.status", "eq", 5), False),
    (cond("payload.status", "ne", 5), True),
    (cond("payload.status", "in", [4, 9]), True),
    (cond("payload.status", "not_in", [4, 9]), False),
    (cond("payload.missing", "ne", 1), True),
    (cond("payload.missing", "eq", None), False),
    (cond("payload.missing", "exists", False), True),
    (cond("payload.status", "exists", True), True),
    (cond("payload.agency_id", "prefix", "000.00.14"), True),
    (cond("payload.agency_id", "matches", r"\.H20$"), True),
    (cond("payload.agency_id", "matches", r"\.H48$"), False),
    (cond("payload.applicant.name", "eq", "Nguyễn Văn An"), True),
    (cond("payload.steps.0", "eq", "a"), True),
    (cond("subject", "prefix", "000.00.14.H20-"), True),
    (cond("source", "eq", "demo"), True),
    (cond("payload.status", "prefix", "4"), False),  # prefix on a number never matches
])
def test_conditions(condition, expected):
    m = msg(status=4, agency_id="000.00.14.H20", applicant={"name": "Nguyễn Văn An"}, steps=["a"])
    assert condition_holds(condition, m) is expected


def test_type_glob_and_fan_out():
    routes = (RouteConfig("all-dossiers", ("dossier.*",), "dvcqg"),
              RouteConfig("progress-done", ("dossier.progress",), "onestop", when=(cond("payload.status", "in", [9, 10]),)),
              RouteConfig("sms", ("sms.send", "sms.received"), "sms"))
    config = HubConfig("x", HubSettings(), {}, {}, routes)
    assert [r.name for r in select_routes(config, msg(status=9))] == ["all-dossiers", "progress-done"]
    assert [r.name for r in select_routes(config, msg(status=4))] == ["all-dossiers"]
    assert select_routes(config, msg("demo.ping")) == []
    assert not route_matches(routes[0], msg("dossierXsync"))
    assert route_matches(routes[2], msg("sms.received"))


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(backoff=1, multiplier=2, max_backoff=10, jitter=0)
    assert [backoff_delay(policy, n) for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 10, 10]


def test_jitter_stays_within_bounds():
    policy = RetryPolicy(backoff=10, jitter=0.2, max_backoff=100)
    rng = random.Random(7)
    delays = [backoff_delay(policy, 1, rand=rng) for _ in range(200)]
    assert min(delays) >= 8 and max(delays) <= 12 and len(set(delays)) > 100


def test_retry_after_is_a_floor():
    policy = RetryPolicy(backoff=1, jitter=0)
    assert backoff_delay(policy, 1, retry_after=30) == 30


def test_attempt_and_age_caps():
    policy = RetryPolicy(max_attempts=3, backoff=10, jitter=0, max_age=60)
    now = utcnow()
    assert next_attempt_at(policy, 1, now, now) == now + timedelta(seconds=10)
    assert next_attempt_at(policy, 3, now, now) is None                       # attempts exhausted
    assert next_attempt_at(policy, 2, now - timedelta(seconds=55), now) is None  # would pass max_age
