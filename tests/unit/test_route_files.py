"""Config unit tests (as in Redpanda Connect): a route may name a file of input messages and expected partner
payloads; every such file in the sandbox config runs here, so a route change that alters a payload fails."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hub.config import load_config
from hub.message import Message
from hub.pipeline import Pipeline
from hub.routing import route_matches, select_routes
from tests.conftest import CONFIG

CONFIG_UNDER_TEST = load_config(CONFIG)
ROUTES_WITH_TESTS = [r for r in CONFIG_UNDER_TEST.routes if r.tests]


def cases():
    for route in ROUTES_WITH_TESTS:
        spec = yaml.safe_load(Path(route.tests).read_text(encoding="utf-8"))
        assert spec["route"] == route.name, f"{route.tests} tests route {spec['route']}, not {route.name}"
        for case in spec["cases"]:
            yield pytest.param(route, case, id=f"{route.name}: {case['name']}")


def test_sandbox_routes_have_test_files():
    assert ROUTES_WITH_TESTS, "at least the sandbox's smoke route carries a test file"


@pytest.mark.parametrize("route,case", list(cases()))
def test_route_case(route, case):
    inp = case["input"]
    message = Message(id="route-test", type=inp["type"], source=inp.get("source", "demo"), payload=inp["payload"],
                      subject=inp.get("subject"), headers=inp.get("headers", {}))
    if "routes" in case:  # optional: exactly which routes take this input (fan-out)
        assert [r.name for r in select_routes(CONFIG_UNDER_TEST, message)] == case["routes"]
    assert route_matches(route, message), "the route does not take this input"
    body = Pipeline(CONFIG_UNDER_TEST, connectors={}).prepare(route, message, hops=[])
    assert body == case["expect"]
