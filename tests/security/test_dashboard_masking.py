"""Family 10 on the dashboard: personal ids (12-digit CCCD, 9-digit CMND) and phone numbers appear masked
(``001******567``, phone numbers ``*******678``) on every page that can show them — search results, a message's page (facts, payload, hops,
delivery errors), dead letters, the audit log, the overview — and never in /metrics labels.

The pages are found from hub/web's route table (every GET under /ui), so a new page is checked too; the data is
seeded through the store's own write paths, with personal data in every field a client or a partner controls.
"""
from __future__ import annotations

import json
import re
import shutil

import pytest
import requests
from werkzeug.test import Client

from hub.config import load_config
from hub.message import Message
from hub.runtime import HubRuntime
from hub.store import HopRecord, Outcome
from hub.web.app import WebUI
from hub.web.app import routes as web_routes
from hub.web.auth import Authenticator, operators_from_config
from hub.web.testing import wsgi_app
from tests.conftest import ROOT
from tests.security.conftest import CITIZEN_ID, PHONE, auth

OLD_ID = "025123456"                 # a 9-digit CMND
PHONE_INTL = "+84987654321"
PHONE_AS_NUMBER = 84912345678        # a phone number sent as a JSON number, not a string
RAW = (CITIZEN_ID, PHONE, OLD_ID, PHONE_INTL, "84912345678", "987654321")
ROUTE = "demo-ping-to-echo"
# query strings that make each page show the seeded data (pages not listed are fetched without one)
QUERIES = {
    "/ui/search": [f"?subject={CITIZEN_ID}", "?type=demo.ping", "?connector=echo&state=dead",
                   f"?id=mask-dead&source={PHONE}"],
    "/ui/message": ["?id=mask-ok", "?id=mask-dead"],
}


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """One runtime for the module (building it loads keys: seconds); each test seeds its own message ids."""
    tmp_path = tmp_path_factory.mktemp("dashboard")
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    runtime = HubRuntime(load_config(config_dir, overrides={"store": f"sqlite:///{tmp_path}/hub.db"}))
    runtime.store.migrate()
    yield WebUI(runtime, Authenticator(operators_from_config(runtime.config.operators), secret=b"m" * 32))
    runtime.store.close()


def _payload(n: int) -> dict:
    return {"text": f"Công dân CCCD {CITIZEN_ID}, CMND {OLD_ID}, ĐT {PHONE} / {PHONE_INTL} (#{n})",
            "citizen_id": CITIZEN_ID, "old_id": OLD_ID, "phone": PHONE, "phone_number": PHONE_AS_NUMBER,
            "contacts": [{"tel": PHONE_INTL, "note": f"gọi {PHONE}"}]}


def _seed(store) -> None:
    """One delivered message and one dead letter, personal data in subject, payload, hops, reply and errors.
    (The gateway now refuses such a subject from a client; rows from before that, or written by other paths, are
    still shown masked.)"""
    for mid in ("mask-ok", "mask-dead"):
        store.accept(Message(id=mid, type="demo.ping", source="demo", subject=CITIZEN_ID, payload=_payload(1)),
                     f"d-{mid}", [(ROUTE, "echo")],
                     [HopRecord("received", detail=f"from client demo about {CITIZEN_ID} ({PHONE})"),
                      HopRecord("validated", detail=f"phone {PHONE_INTL} checked")])
    ok = store.claim(f"mask-ok/{ROUTE}", 30)
    store.finish(ok, Outcome("delivered", reply={"payload": {"echo": CITIZEN_ID, "phone": PHONE}}),
                 [HopRecord("delivered", detail=f"partner answered for {CITIZEN_ID}", delivery_id=ok.id)])
    dead = store.claim(f"mask-dead/{ROUTE}", 30)
    error = f"partner refused: citizen {CITIZEN_ID} / CMND {OLD_ID} with phone {PHONE} is unknown"
    store.finish(dead, Outcome("dead", code="delivery.partner_rejected", error=error),
                 [HopRecord("dead_lettered", code="delivery.partner_rejected", detail=error, delivery_id=dead.id)])


def _login(client: Client, user: str = "operator", password: str = "sandbox-operator") -> None:
    token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/ui/login").text).group(1)
    r = client.post("/ui/login", data={"username": user, "password": password, "login_csrf": token, "next": "/ui"})
    assert r.status_code == 303


def _assert_masked(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{where} shows {raw[:4]}… unmasked"


def test_every_dashboard_page_masks_personal_ids_and_phone_numbers(ui):
    _seed(ui.store)
    client = Client(wsgi_app(ui))
    _login(client)
    pages = [path for methods, path, _ in web_routes() if path.startswith("/ui") and "GET" in methods.split(",")
             and "<" not in path]
    assert {"/ui", "/ui/search", "/ui/message", "/ui/dead-letters", "/ui/audit"} <= set(pages)
    # the audit log last: it then holds every search and view above, with what was searched for
    pages.sort(key=lambda p: p == "/ui/audit")
    seen = {}
    for path in pages:
        for query in QUERIES.get(path, [""]):
            r = client.get(path + query)
            assert r.status_code in (200, 303), (path + query, r.status_code)
            _assert_masked(r.text, path + query)
            seen[path + query] = r.text
    # the pages did show the seeded records, masked (a page that showed nothing would pass the check above)
    masked_id = "001******567"            # hub/logging.py mask(): first 3 and last 3 digits
    assert masked_id in seen[f"/ui/search?subject={CITIZEN_ID}"] or "mask-ok" in seen["/ui/search?type=demo.ping"]
    assert "mask-ok" in seen["/ui/search?type=demo.ping"] and masked_id in seen["/ui/search?type=demo.ping"]
    assert "mask-dead" in seen["/ui/search?connector=echo&state=dead"]
    message = seen["/ui/message?id=mask-ok"]
    assert masked_id in message and "******678" in message                   # facts, payload and hops
    assert "citizen_id" in message and "partner answered" in message
    dead = seen["/ui/message?id=mask-dead"]
    assert "partner refused" in dead and masked_id in dead                    # the delivery's reason
    assert "mask-dead" in seen["/ui/dead-letters"] and "partner refused" in seen["/ui/dead-letters"]
    audit = seen["/ui/audit"]
    assert "search" in audit and "mask-ok" in audit and masked_id in audit   # searches and views, masked


HOSTILE = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "=HYPERLINK(\"http://x\")",
           "</pre><svg onload=alert(1)>", "javascript:alert(1)"]


def test_family_9_hostile_text_is_shown_as_text_on_every_page(ui):
    """HTML in a payload, a partner's error, a hop and a search term: escaped everywhere it is shown."""
    text = " ".join(HOSTILE)
    ui.store.accept(Message(id="hostile-1", type="demo.ping", source="demo", payload={"text": text, "note": HOSTILE}),
                    "d-h", [(ROUTE, "echo")], [HopRecord("received", detail=text)])
    dead = ui.store.claim(f"hostile-1/{ROUTE}", 30)
    ui.store.finish(dead, Outcome("dead", code="delivery.partner_rejected", error=text),
                    [HopRecord("dead_lettered", code="delivery.partner_rejected", detail=text, delivery_id=dead.id)])
    client = Client(wsgi_app(ui))
    _login(client)
    pages = [path for methods, path, _ in web_routes() if path.startswith("/ui") and "GET" in methods.split(",")
             and "<" not in path]
    pages.sort(key=lambda p: p == "/ui/audit")
    queries = {"/ui/message": ["?id=hostile-1"], "/ui/search": ["?type=demo.ping", "?source=" + HOSTILE[0]],
               "/ui/dead-letters": ["", "?code=" + HOSTILE[1]]}
    shown = 0
    for path in pages:
        for query in queries.get(path, [""]):
            html = client.get(path + query).text
            for markup in ("<script>alert", "<img src=x", "<svg onload"):
                assert markup not in html, f"{path}{query} renders {markup!r} as markup"
            shown += "&lt;script&gt;" in html
    assert shown >= 3, "the hostile text was not shown at all: the pages checked nothing"


def test_metrics_labels_never_carry_personal_data(hub):
    """Refused and accepted messages carrying personal data in every client-controlled field: /metrics labels
    are types, connectors, states and codes only."""
    sends = [
        {"type": f"citizen.{CITIZEN_ID}", "payload": {"text": "x"}},                       # unknown type
        {"type": "demo.ping", "subject": CITIZEN_ID, "payload": _payload(2)},               # subject refused
        {"type": "demo.ping", "payload": _payload(2)},                                      # accepted
        {"type": "demo.ping", "headers": {"phone": PHONE}, "payload": {"text": PHONE}},     # accepted
        {"type": "demo.ping", "payload": {"text": 42, "phone": PHONE}},                     # schema refusal
        {"type": "sms.send", "payload": {"phone": f"x{PHONE}", "text": CITIZEN_ID}},        # schema refusal
    ]
    codes = []
    for body in sends:
        r = requests.post(hub.url + "/v1/messages", data=json.dumps(body), headers=auth(), timeout=30)
        codes.append(r.status_code)
        _assert_masked(r.text, f"the answer to {body['type']}")
    assert 202 in codes and any(c >= 400 for c in codes), codes
    text = requests.get(hub.url + "/metrics", timeout=30).text
    assert "hub_messages_total" in text
    _assert_masked(text, "/metrics")
    labels = " ".join(re.findall(r"\{([^}]*)\}", text))
    assert not re.search(r"[0-9]{9,}", labels), "a long digit run in a metric label"
