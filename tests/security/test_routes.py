"""Family 7, route by route: every HTTP endpoint the gateway service registers (its nameko @http entrypoints,
the client API and hub/web's dashboard and ops routes alike) is found by introspection, never listed by hand,
and checked against the access policy of docs/security.md:

- open on purpose (PUBLIC below, each with its reason): liveness, readiness, metrics, the OpenAPI document, the
  login form and its POST, the language switch, the two static assets;
- ``/v1/inbound/<connector>``: for every connector that has an inbound endpoint, a call without the partner's
  signature, token or credentials is refused and stores nothing; the IP allow-list is checked for each of them;
- every other ``/v1/`` route: 401 ``auth.missing_token`` without a token, ``auth.invalid_token`` with a wrong one;
- every other ``/ui`` route: without a session, a redirect to the login page showing nothing; a POST with a
  session but without its CSRF token is 403; neither changes anything.

A new endpoint that fits none of these, or that answers without credentials, fails this test.
"""
from __future__ import annotations

import dataclasses
import inspect
import json
import re
import sqlite3
from dataclasses import dataclass

import pytest
import requests
from nameko.web.handlers import HttpRequestHandler

from hub.contracts import InboundRequest
from hub.errors import AuthError
from tests.harness import TOKEN
from tests.security.conftest import SECRETS, Watch, assert_clean_text, assert_refused, auth, dashboard

# (method, rule) -> why it is open. Anything else needs credentials.
PUBLIC = {
    ("GET", "/healthz"): "liveness probe; says only that the process answers",
    ("GET", "/readyz"): "readiness probe; store/bus/keys up, connector states; no ids, no personal data",
    ("GET", "/metrics"): "Prometheus scrape; labels are types, connectors, states and codes only",
    ("GET", "/v1/openapi.json"): "the API's description, the same for everyone; no data",
    ("GET", "/ui/login"): "the login form",
    ("POST", "/ui/login"): "logging in (double-submit login CSRF token; failures audited)",
    ("GET", "/ui/lang"): "sets the language cookie; redirects only inside /ui",
    ("GET", "/ui/static/<string:name>"): "app.css and app.js, nothing else",
}
# a value for each path variable, so that an unprotected route would have something real to show or change
SAMPLES = {"message_id": "route-audit-1", "code": "1.000894", "name": "app.css"}
SENTINEL_TEXT = "route audit"


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    entrypoint: str


@pytest.fixture(scope="module")
def registered(hub, tmp_path_factory):
    """The gateway service class the hub runs (hub/services/gateway.py make_gateway), built from the suite's
    config, and the (method, rule) of each of its @http entrypoints; plus the connectors with an inbound side."""
    from hub.config import load_config
    from hub.runtime import HubRuntime
    from hub.services.gateway import make_gateway
    store = tmp_path_factory.mktemp("routes") / "routes.db"
    with pytest.MonkeyPatch.context() as env:
        for name, value in SECRETS.items():
            env.setenv(name, value)
        runtime = HubRuntime(load_config(hub.workdir / "config", overrides={"store": f"sqlite:///{store}"}))
    service = make_gateway(runtime)
    routes = sorted({Route(method, ep.url, name)
                     for name, member in inspect.getmembers(service)
                     for ep in getattr(member, "nameko_entrypoints", ())
                     if isinstance(ep, HttpRequestHandler) for method in ep.method.split(",")},
                    key=lambda r: (r.rule, r.method))
    inbound = sorted(n for n, c in runtime.connectors.items() if "inbound" in c.capabilities)
    yield routes, inbound, runtime
    runtime.store.close()


def _path(rule: str, **extra: str) -> str:
    def value(m: re.Match) -> str:
        name = m.group(1).split(":")[-1]
        values = {**SAMPLES, **extra}
        assert name in values, f"route {rule}: add a sample value for <{name}> to SAMPLES"
        return values[name]
    return re.sub(r"<([^>]+)>", value, rule)


def _kind(route: Route) -> str:
    if (route.method, route.rule) in PUBLIC:
        return "public"
    if route.rule.startswith("/v1/inbound/"):
        return "partner"
    if route.rule.startswith("/v1/"):
        return "client"
    if route.rule == "/ui" or route.rule.startswith("/ui/"):
        return "dashboard"
    return "unclassified"


def _snapshot(hub) -> tuple:
    """What a state change would move: messages, deliveries by state, dead letters, payment and postal orders."""
    with sqlite3.connect(hub.log_path.parent / "hub.db") as conn:
        return (conn.execute("select count(*) from messages").fetchone()[0],
                tuple(conn.execute("select state, count(*) from deliveries group by state order by state")),
                conn.execute("select count(*) from dead_letters").fetchone()[0],
                tuple(conn.execute("select state, count(*) from payments group by state order by state")),
                conn.execute("select count(*) from postal_statuses").fetchone()[0])


def test_the_route_table_is_introspected_and_every_route_classified(registered):
    routes, inbound, _ = registered
    have = {(r.method, r.rule) for r in routes}
    # introspection must see the routes we know of, or the audit below would check nothing
    for known in [("POST", "/v1/messages"), ("GET", "/v1/messages/<string:message_id>"),
                  ("POST", "/v1/inbound/<string:connector>"), ("POST", "/ui/dead-letters/replay"),
                  ("GET", "/metrics"), ("GET", "/ui/audit")]:
        assert known in have, known
    from hub.web.app import routes as web_routes
    for methods, rule, _handler in web_routes():
        assert all((m, rule) in have for m in methods.split(",")), f"hub/web route {rule} not served by the gateway"
    unclassified = [r for r in routes if _kind(r) == "unclassified"]
    assert not unclassified, f"endpoints outside /v1 and /ui with no decided protection: {unclassified}"
    assert {"vnpay", "momo", "paygov", "vnpost"} <= set(inbound), inbound
    stale = set(PUBLIC) - have
    assert not stale, f"PUBLIC lists routes the gateway no longer has: {stale}"


def test_client_api_routes_refuse_without_a_valid_token(hub, registered):
    routes, _, _ = registered
    # a message of the main client's, so an unprotected read route would have something to show
    r = requests.post(hub.url + "/v1/messages", headers=auth(), timeout=30, json={
        "id": SAMPLES["message_id"], "type": "demo.ping", "payload": {"text": SENTINEL_TEXT}})
    assert r.status_code in (200, 202), r.text
    body = json.dumps({"type": "demo.ping", "payload": {"text": SENTINEL_TEXT}}).encode()
    checked = []
    for route in (r for r in routes if _kind(r) == "client"):
        url = hub.url + _path(route.rule)
        for headers, code in (({}, "auth.missing_token"), ({"Authorization": "Bearer not-a-client"},
                                                            "auth.invalid_token")):
            with Watch(hub):
                answer = requests.request(route.method, url, data=body if route.method == "POST" else None,
                                          headers={"Content-Type": "application/json", **headers}, timeout=30)
                assert_refused(answer, 401, code)
                assert SENTINEL_TEXT not in answer.text
        checked.append(route)
    assert len(checked) >= 4, checked


def test_partner_endpoints_refuse_calls_without_the_partners_credentials(hub, registered):
    routes, inbound, _ = registered
    partner_routes = [r for r in routes if _kind(r) == "partner"]
    assert partner_routes
    for route in partner_routes:
        for connector in inbound:
            url = hub.url + _path(route.rule, connector=connector)
            for body in (b"", json.dumps({"orderId": "R1", "amount": 1000, "resultCode": 0, "itemCode": "EE1",
                                          "MaThamChieu": "R1", "userId": "0912345678", "info": "DVC x"}).encode()):
                before = _snapshot(hub)
                with Watch(hub):
                    answer = requests.request(route.method, url, data=body or None, timeout=30,
                                              headers={"Content-Type": "application/json"})
                    assert _refused(answer), (route.method, connector, answer.status_code, answer.text[:300])
                    assert_clean_text(answer.text)
                assert _snapshot(hub) == before, (route.method, connector)


def _refused(r: requests.Response) -> bool:
    """A refusal in HTTP, or in the partner's own protocol where it always answers 200 (VNPay's RspCode,
    the payment platform's MaLoi): never a success code."""
    if r.status_code >= 400:
        return True
    if r.status_code != 200:
        return False
    try:
        body = r.json()
    except ValueError:
        return False
    if "RspCode" in body:                       # VNPay IPN
        return body["RspCode"] not in ("00", "02")
    if "MaLoi" in body:                         # PayGov callback
        return body["MaLoi"] != "00"
    return False


def test_every_inbound_endpoint_honours_the_ip_allow_list(registered):
    """With allow_ips on each connector, a call from outside is refused by the gateway before the connector
    sees it; from inside, the connector gets it (and judges the credentials itself)."""
    _, inbound, runtime = registered
    gateway = runtime.gateway
    seen: list[str] = []

    class Reached(Exception):
        pass

    def spy(name):  # noqa: ANN001, ANN202
        def inbound(request):  # noqa: ANN001, ANN202
            seen.append(name)
            raise Reached(name)
        return inbound

    saved = dict(gateway.config.connectors)
    try:
        for name in inbound:
            gateway.config.connectors[name] = dataclasses.replace(saved[name], allow_ips=("203.0.113.0/24",))
        connectors = {name: _Spy(runtime.connectors[name], spy(name)) for name in inbound}
        for name in inbound:
            for outside in ("127.0.0.1", "198.51.100.7", None, "not-an-address"):
                with pytest.raises(AuthError) as caught:
                    gateway.inbound(connectors, name, InboundRequest(method="POST", path=f"/v1/inbound/{name}",
                                                                     headers={}, query={}, body=b"{}",
                                                                     remote_addr=outside))
                assert caught.value.code == "inbound.address_not_allowed"
            assert seen == []
            with pytest.raises(Reached):
                gateway.inbound(connectors, name, InboundRequest(method="POST", path=f"/v1/inbound/{name}",
                                                                 headers={}, query={}, body=b"{}",
                                                                 remote_addr="203.0.113.9"))
            assert seen == [name]
            seen.clear()
    finally:
        gateway.config.connectors.clear()
        gateway.config.connectors.update(saved)


class _Spy:
    """A connector whose inbound() is replaced; everything else (capabilities) is the real one's."""

    def __init__(self, real, inbound) -> None:  # noqa: ANN001
        self.capabilities = real.capabilities
        self.inbound = inbound


def test_dashboard_routes_need_a_session_and_posts_their_csrf_token(hub, registered):
    routes, _, _ = registered
    dashboard_routes = [r for r in routes if _kind(r) == "dashboard"]
    assert any(r.method == "POST" for r in dashboard_routes)
    viewer = dashboard(hub)
    for route in dashboard_routes:
        url = hub.url + _path(route.rule)
        before = _snapshot(hub)
        anonymous = requests.request(route.method, url, data={"delivery": "x/y", "confirm": "yes", "mode": "filter"},
                                     timeout=30, allow_redirects=False)
        assert anonymous.status_code == 303, (route, anonymous.status_code)
        assert anonymous.headers["Location"].startswith("/ui/login"), (route, anonymous.headers["Location"])
        assert anonymous.text == "" and "hub_session" not in anonymous.cookies
        if route.method == "POST":
            forged = viewer.post(url, data={"delivery": "x/y", "confirm": "yes", "mode": "filter"}, timeout=30,
                                 allow_redirects=False)
            assert forged.status_code == 403, (route, forged.status_code)
            wrong = viewer.post(url, data={"csrf": "forged-token", "confirm": "yes", "mode": "filter"}, timeout=30,
                                allow_redirects=False)
            assert wrong.status_code == 403, (route, wrong.status_code)
        assert _snapshot(hub) == before, route


def test_public_routes_show_no_secret_and_no_personal_data(hub, registered):
    routes, _, _ = registered
    for route in (r for r in routes if _kind(r) == "public"):
        url = hub.url + _path(route.rule)
        if route.method == "GET":
            r = requests.get(url, timeout=30, allow_redirects=False)
            assert r.status_code in (200, 303, 503), (route, r.status_code)
        else:   # logging in without the form's own token: refused, no session
            r = requests.post(url, data={"username": "operator", "password": "sandbox-operator"}, timeout=30,
                              allow_redirects=False)
            assert r.status_code == 400 and "hub_session" not in r.cookies, (route, r.status_code)
        assert_clean_text(r.text)
        assert TOKEN not in r.text
