"""The dashboard without nameko: login, roles, CSRF, escaping of hostile data, search, replay, audit; metrics and
readiness endpoints."""
from __future__ import annotations

import re

import pytest
from werkzeug.test import Client

from hub.config import load_config
from hub.message import Message
from hub.runtime import HubRuntime
from hub.store import HopRecord, Outcome
from hub.web.app import WebUI
from hub.web.auth import Authenticator, hash_password, operators_from_config, verify_password
from hub.web.testing import wsgi_app

HOSTILE = '<script>alert("xss")</script>'
HOSTILE_TITLE = '"><img src=x onerror=alert(1)>'


@pytest.fixture
def runtime(config_dir, tmp_path):
    config = load_config(config_dir, overrides={"store": f"sqlite:///{tmp_path}/hub.db"})
    rt = HubRuntime(config)
    rt.store.migrate()
    yield rt
    rt.store.close()


@pytest.fixture
def ui(runtime):
    return WebUI(runtime, Authenticator(operators_from_config(runtime.config.operators), secret=b"k" * 32))


@pytest.fixture
def client(ui):
    return Client(wsgi_app(ui))


def login(client: Client, user: str = "operator", password: str = "sandbox-operator"):  # noqa: ANN201
    page = client.get("/ui/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/ui/login", data={"username": user, "password": password, "login_csrf": token, "next": "/ui"})


def csrf_of(client: Client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/dead-letters").text).group(1)


def dead_message(runtime, mid: str = "m-dead", subject: str = "000.00.14.H20-260101-0001", title: str = "x") -> str:
    msg = Message(id=mid, type="demo.ping", source="demo", subject=subject,
                  payload={"text": title, "citizen_id": "001203004567", "phone": "0912345678"})
    runtime.store.accept(msg, "d", [("demo-ping-to-echo", "echo")], [HopRecord("received")])
    claimed = runtime.store.claim(f"{mid}/demo-ping-to-echo", 30)
    runtime.store.finish(claimed, Outcome("dead", code="delivery.partner_rejected", error=f"refused {title}"),
                         [HopRecord("dead_lettered", code="delivery.partner_rejected", delivery_id=claimed.id)])
    return claimed.id


def test_password_hashes_verify_and_refuse():
    stored = hash_password("mật khẩu")
    assert verify_password("mật khẩu", stored) and not verify_password("mat khau", stored)
    assert not verify_password("x", "md5$abc") and not verify_password("x", "scrypt$broken")


def test_pages_need_a_login_and_a_wrong_password_is_refused_and_audited(client, runtime):
    assert client.get("/ui").status_code == 303
    assert client.get("/ui/search").headers["Location"].startswith("/ui/login")
    r = login(client, password="wrong")
    assert r.status_code == 401 and "hub_session" not in r.headers.get("Set-Cookie", "")
    assert login(client).status_code == 303
    overview = client.get("/ui")
    assert overview.status_code == 200 and "Tổng quan" in overview.text      # Vietnamese by default
    from hub.web.queries import audit_entries
    actions = [(e["actor"], e["action"]) for e in audit_entries(runtime.store)]
    assert ("operator", "login") in actions and ("operator", "login_failed") in actions


def test_session_cookie_is_httponly_strict_and_tamper_proof(client, ui):
    cookie = login(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    value = re.search(r"hub_session=([^;]+)", cookie).group(1)
    body, sig = value.rsplit(".", 1)
    assert ui.auth.read(value) is not None
    assert ui.auth.read(body + "." + sig[:-2] + "AA") is None


def test_login_without_its_csrf_token_is_refused(client):
    r = client.post("/ui/login", data={"username": "operator", "password": "sandbox-operator"})
    assert r.status_code == 400 and "hub_session" not in r.headers.get("Set-Cookie", "")


def test_english_switch(client):
    login(client)
    client.get("/ui/lang?to=en&back=/ui")
    assert "Overview" in client.get("/ui").text


def test_hostile_dossier_title_is_shown_as_text_never_markup(client, runtime):
    dead_message(runtime, "m-xss", subject=HOSTILE, title=HOSTILE_TITLE)
    login(client)
    pages = [client.get("/ui/search", query_string={"subject": HOSTILE}).text,
             client.get("/ui/message", query_string={"id": "m-xss"}).text,
             client.get("/ui/dead-letters").text, client.get("/ui").text]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in pages[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[1]
    csp = client.get("/ui").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_message_page_masks_personal_data_and_links_the_dossier(client, runtime):
    dead_message(runtime, "m1")
    dead_message(runtime, "m2")
    login(client)
    html = client.get("/ui/message", query_string={"id": "m1"}).text
    assert "001203004567" not in html and "0912345678" not in html
    assert "001******567" in html and "*******678" in html
    assert 'href="/ui/message?id=m2"' in html and "dead_lettered" in html


def test_search_by_dossier_connector_and_state(client, runtime):
    dead_message(runtime, "a1", subject="D-1")
    dead_message(runtime, "b1", subject="D-2")
    login(client)
    # the message links, not bare ids: a random CSRF token in the page may contain "b1" (failed CI once)
    html = client.get("/ui/search", query_string={"subject": "D-1"}).text
    assert "message?id=a1\"" in html and "message?id=b1\"" not in html
    html = client.get("/ui/search", query_string={"connector": "echo", "state": "dead"}).text
    assert "message?id=a1\"" in html and "message?id=b1\"" in html
    assert "no-results" in client.get("/ui/search", query_string={"state": "delivered"}).text


def test_viewer_may_not_replay(client, runtime):
    did = dead_message(runtime)
    login(client, "viewer", "sandbox-viewer")
    html = client.get("/ui/dead-letters").text
    assert "replay-selected" not in html
    r = client.post("/ui/dead-letters/replay", data={"csrf": csrf_of(client), "delivery": did, "confirm": "yes"})
    assert r.status_code == 403
    assert runtime.store.delivery_state(did)["state"] == "dead"


def test_replay_needs_csrf_then_confirmation_and_is_audited(client, runtime):
    did = dead_message(runtime)
    login(client)
    r = client.post("/ui/dead-letters/replay", data={"delivery": did, "confirm": "yes"})
    assert r.status_code == 403 and runtime.store.delivery_state(did)["state"] == "dead"
    token = csrf_of(client)
    confirm = client.post("/ui/dead-letters/replay", data={"csrf": token, "delivery": did})
    assert confirm.status_code == 200 and "confirm-replay" in confirm.text
    assert runtime.store.delivery_state(did)["state"] == "dead"        # nothing yet: only the question
    done = client.post("/ui/dead-letters/replay", data={"csrf": token, "delivery": did, "confirm": "yes"})
    assert done.status_code == 303
    assert runtime.store.delivery_state(did)["state"] == "retry_wait"
    from hub.web.queries import audit_entries
    assert any(e["action"] == "replay" and did in e["target"] for e in audit_entries(runtime.store))


def test_replay_by_filter(client, runtime):
    ids = [dead_message(runtime, f"f{i}") for i in range(3)]
    login(client)
    token = csrf_of(client)
    client.post("/ui/dead-letters/replay", data={"csrf": token, "mode": "filter", "connector": "echo",
                                                 "code": "delivery.partner_rejected", "confirm": "yes"})
    assert {runtime.store.delivery_state(i)["state"] for i in ids} == {"retry_wait"}


def test_open_redirect_refused(client):
    r = client.get("/ui/lang?to=en&back=https://evil.example/")
    assert r.headers["Location"] == "/ui"


def test_liveness_readiness_and_metrics(client, runtime):
    from hub import metrics
    metrics.attach(runtime)
    dead_message(runtime, "mx")
    metrics.record_attempt("echo", "dead", "delivery.partner_rejected", 0.02)
    assert client.get("/healthz").json["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["store"] == "up" and "echo" in ready.json["connectors"]
    text = client.get("/metrics").text
    assert 'hub_dead_letters_waiting{connector="echo"} 1.0' in text
    assert 'hub_delivery_attempts_total{code="delivery.partner_rejected",connector="echo",outcome="dead"}' in text
    assert "hub_delivery_attempt_seconds_bucket" in text and "mx" not in text  # no ids in labels
    runtime.store.engine.dispose()
    runtime.store.url = "broken"
    runtime.store.ping = lambda: (_ for _ in ()).throw(OSError("gone"))
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_healthz_shows_signing_keys_and_circuit_breakers_and_stays_200(client, runtime):
    """Liveness (HTTP 200 while the process answers) whose body turns red when this process's breaker for a
    partner is open or a signing key cannot sign (issues 3 and 4)."""
    body = client.get("/healthz").json
    assert body["status"] == "ok" and body["signing"]["state"] == "up"
    assert body["circuits"]["echo"] == "closed"
    breaker = runtime.breakers["echo"]
    for _ in range(breaker.policy.failures):
        breaker.record_failure()
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json["status"] == "degraded" and r.json["circuits"]["echo"] == "open"
    runtime.keyring.usable = lambda: [type("P", (), {"key": "agency", "detail": "certificate expired"})()]
    breaker.record_success()
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json["status"] == "degraded" and r.json["signing"]["state"] == "down"


def test_static_assets_are_served_and_nothing_else(client):
    assert client.get("/ui/static/app.css").status_code == 200
    assert client.get("/ui/static/..%2Fauth.py").status_code == 404
