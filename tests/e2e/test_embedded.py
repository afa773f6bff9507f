"""The embedded default end to end: `run.py serve` as a subprocess, real HTTP, the echo simulator as partner."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import yaml

from tests.conftest import ROOT
from tests.harness import TOKEN, start_hub, wait_until

pytestmark = pytest.mark.e2e
N_MESSAGES = 500
CLIENTS = 10


NARROW_TOKEN = "narrow-client-token-for-tests"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """The sandbox config plus a second client, granted only demo.ping, whose token comes from the environment."""
    workdir = tmp_path_factory.mktemp("embedded")
    config = workdir / "config"
    shutil.copytree(ROOT / "config", config)
    hub_yaml = yaml.safe_load((config / "hub.yaml").read_text(encoding="utf-8"))
    hub_yaml["clients"]["registry-office"] = {"name": "Ward registry office", "token": "${env:HUB_TEST_NARROW_TOKEN}",
                                              "allow": ["demo.ping"]}
    (config / "hub.yaml").write_text(yaml.safe_dump(hub_yaml, allow_unicode=True), encoding="utf-8")
    proc = start_hub(workdir, "--config", str(config), env={"HUB_TEST_NARROW_TOKEN": NARROW_TOKEN})
    yield proc
    code = proc.stop()
    assert code == 0, f"hub did not shut down cleanly ({code}):\n{proc.log()[-2000:]}"
    assert "stopped" in proc.log()


def test_500_pings_from_10_clients_reach_the_partner_exactly_once(hub):
    run = uuid.uuid4().hex[:8]
    ids = [f"e2e-{run}-{i:04d}" for i in range(N_MESSAGES)]

    def send(chunk: list[str]) -> list[int]:
        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        codes = []
        for mid in chunk:
            r = session.post(hub.url + "/v1/messages", json={"id": mid, "type": "demo.ping",
                                                               "payload": {"text": f"xin chào {mid}", "seq": 1}}, timeout=30)
            codes.append(r.status_code)
            assert r.json() == {"id": mid, "status": "accepted"}
        return codes

    with ThreadPoolExecutor(CLIENTS) as pool:
        codes = [c for chunk in pool.map(send, [ids[i::CLIENTS] for i in range(CLIENTS)]) for c in chunk]
    assert codes == [202] * N_MESSAGES

    def stats() -> dict:
        return requests.get(hub.sim_url + "/echo/_stats", timeout=10).json()

    keys = [f"{mid}/demo-ping-to-echo" for mid in ids]
    wait_until(lambda: all(stats()["keys"].get(k) for k in keys), timeout=120)
    seen = stats()["keys"]
    assert {k: seen.get(k) for k in keys} == {k: 1 for k in keys}, "each message reaches the partner exactly once"

    for mid in ids[:: N_MESSAGES // 20]:
        view = hub.get(f"/v1/messages/{mid}").json()
        assert view["state"] == "delivered"
        [delivery] = view["deliveries"]
        assert delivery["attempts"] == 1 and delivery["connector"] == "echo"
        kinds = [h["kind"] for h in view["hops"]]
        assert kinds == ["received", "validated", "routed", "attempt", "transformed", "answered", "delivered"]
        answered = next(h for h in view["hops"] if h["kind"] == "answered")
        assert answered["duration_ms"] > 0 and "ECHO-" in answered["detail"]

    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "trace", ids[0], "--store",
                          f"sqlite:///{hub.log_path.parent}/hub.db"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "received" in out.stdout and "answered" in out.stdout and "demo-ping-to-echo -> echo: delivered" in out.stdout


def test_fan_out_reaches_partner_and_client_webhook(hub):
    mid = f"fan-{uuid.uuid4().hex[:8]}"
    r = hub.post("/v1/messages", json={"id": mid, "type": "demo.ping", "payload": {"text": "notify: hồ sơ đã tiếp nhận"}})
    assert r.status_code == 202
    view = wait_until(lambda: (v := hub.get(f"/v1/messages/{mid}").json())["state"] == "delivered" and v, timeout=30)
    assert view and sorted(d["connector"] for d in view["deliveries"]) == ["echo", "onestop"]
    events = requests.get(hub.sim_url + "/onestop/demo/events", timeout=10).json()
    [event] = [e for e in events if e["id"] == mid]
    assert event["payload"] == {"text": "notify: hồ sơ đã tiếp nhận"}   # signature verified by the simulator


def test_same_id_same_body_gets_the_original_answer(hub):
    mid = f"dup-{uuid.uuid4().hex[:8]}"
    body = {"id": mid, "type": "demo.ping", "payload": {"text": "một lần"}}
    first, second = hub.post("/v1/messages", json=body), hub.post("/v1/messages", json=body)
    assert first.status_code == second.status_code == 202 and first.json() == second.json()
    wait_until(lambda: hub.get(f"/v1/messages/{mid}").json()["state"] == "delivered", timeout=30)
    stats = requests.get(hub.sim_url + "/echo/_stats", timeout=10).json()
    assert stats["keys"][f"{mid}/demo-ping-to-echo"] == 1


def test_call_waits_for_the_partners_answer(hub):
    r = hub.post("/v1/calls", json={"type": "demo.echo", "payload": {"text": "Bạn có nghe không?"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "answered" and body["reply"] == {"text": "Bạn có nghe không?"}
    assert hub.get(f"/v1/messages/{body['id']}").json()["state"] == "delivered"


def test_healthz_and_openapi(hub):
    assert requests.get(hub.url + "/healthz", timeout=10).json()["status"] == "ok"       # liveness
    ready = requests.get(hub.url + "/readyz", timeout=10)
    health = ready.json()
    assert ready.status_code == 200 and health["store"] == "up" and health["bus"] == "up"
    assert health["connectors"]["echo"]["state"] == "up" and health["connectors"]["echo"]["circuit"] == "closed"
    doc = requests.get(hub.url + "/v1/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.") and "/v1/messages" in doc["paths"] and "/v1/calls" in doc["paths"]
    assert "demo.ping" in doc["components"]["schemas"]["MessageType"]["enum"]
    assert "message.payload_invalid" in doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]


BAD_REQUESTS = [
    # (name, headers, body, expected status, expected code)
    ("no token", {}, {"type": "demo.ping", "payload": {"text": "x"}}, 401, "auth.missing_token"),
    ("wrong token", {"Authorization": "Bearer not-a-token"}, {"type": "demo.ping", "payload": {"text": "x"}}, 401,
     "auth.invalid_token"),
    ("schema violation", None, {"type": "demo.ping", "payload": {"text": 42}}, 422, "message.payload_invalid"),
    ("unknown type", None, {"type": "demo.nothing", "payload": {}}, 422, "message.unknown_type"),
    ("bad envelope", None, {"type": "demo.ping", "payload": {"text": "x"}, "extra": 1}, 422, "message.envelope_invalid"),
    ("malformed json", None, b'{"type": "demo.ping", "payload": {', 400, "request.malformed_json"),
    ("duplicate keys", None, b'{"type": "demo.ping", "type": "demo.echo", "payload": {"text": "x"}}', 400,
     "request.malformed_json"),
    ("not an object", None, b'[1, 2]', 400, "request.not_an_object"),
    ("invalid utf-8", None, b'{"type": "demo.ping", "payload": {"text": "\xff"}}', 400, "request.malformed_json"),
]


@pytest.mark.parametrize("name,headers,body,status,code", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_get_stable_codes_and_nothing_is_stored(hub, name, headers, body, status, code):
    mid = f"bad-{uuid.uuid4().hex[:8]}"
    if isinstance(body, dict):
        body = json.dumps({"id": mid, **body}).encode()
    else:
        body = body.replace(b'{"type"', b'{"id": "%s", "type"' % mid.encode(), 1) if body.startswith(b'{"type"') else body
    sent_headers = {"Content-Type": "application/json",
                    **({"Authorization": f"Bearer {TOKEN}"} if headers is None else headers)}
    r = requests.post(hub.url + "/v1/messages", data=body, headers=sent_headers, timeout=30)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == code and problem["detail"] and problem["fix"]
    assert "Traceback" not in r.text
    assert hub.get(f"/v1/messages/{mid}").status_code == 404, "a refused message must not be stored"


def test_forbidden_type_is_refused_and_not_stored(hub):
    mid = f"forbidden-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {NARROW_TOKEN}"}
    r = requests.post(hub.url + "/v1/messages", json={"id": mid, "type": "demo.echo", "payload": {"text": "x"}},
                      headers=headers, timeout=30)
    assert r.status_code == 403 and r.json()["code"] == "auth.type_not_granted"
    assert hub.get(f"/v1/messages/{mid}").status_code == 404
    ok = requests.post(hub.url + "/v1/messages", json={"id": mid, "type": "demo.ping", "payload": {"text": "x"}},
                       headers=headers, timeout=30)
    assert ok.status_code == 202                              # the granted type from the same client passes
    assert hub.get(f"/v1/messages/{mid}").status_code == 404  # and one client never sees another's messages
    assert requests.get(hub.url + f"/v1/messages/{mid}", headers=headers, timeout=30).json()["source"] == "registry-office"


def test_same_id_with_another_body_is_refused(hub):
    mid = f"conflict-{uuid.uuid4().hex[:8]}"
    assert hub.post("/v1/messages", json={"id": mid, "type": "demo.ping", "payload": {"text": "a"}}).status_code == 202
    r = hub.post("/v1/messages", json={"id": mid, "type": "demo.ping", "payload": {"text": "b"}})
    assert r.status_code == 422 and r.json()["code"] == "message.id_reused" and r.json()["id"] == mid
    wait_until(lambda: hub.get(f"/v1/messages/{mid}").json()["state"] == "delivered", timeout=30)
    stats = requests.get(hub.sim_url + "/echo/_stats", timeout=10).json()
    assert stats["keys"][f"{mid}/demo-ping-to-echo"] == 1
