"""One hub subprocess for the whole security suite (tests/harness.py), with a narrow second client, an IP
allow-list on paygov, and helpers that every refusal test uses: the code, nothing stored, nothing sent to a
partner, nothing leaked in the response."""
from __future__ import annotations

import re
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.conftest import ROOT
from tests.harness import TOKEN, HubProc, start_hub

NARROW_TOKEN = "security-narrow-token-7f3a"
# Secrets given to the hub in this suite: none may ever appear in a response, a log line, a metric or a trace.
SECRETS = {"HUB_VNPAY_SECRET": "sec-vnpay-9d1c2e", "HUB_MOMO_SECRET": "sec-momo-41aa0b",
           "HUB_PAYGOV_SECRET": "sec-paygov-77c3", "HUB_VNPOST_WEBHOOK_TOKEN": "sec-vnpost-hook-5e2f",
           "HUB_SEC_NARROW_TOKEN": NARROW_TOKEN}
# Personal data the suite sends: must show up masked (or not at all) outside the payload store.
CITIZEN_ID = "001203004567"
PHONE = "0912345678"
PERSONAL_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
PHONE_RE = re.compile(r"(?<![0-9])(?:\+84|84|0)[35789][0-9]{8}(?![0-9])")


@pytest.fixture(scope="session")
def hub(tmp_path_factory) -> HubProc:
    workdir = tmp_path_factory.mktemp("security")
    config = workdir / "config"
    shutil.copytree(ROOT / "config", config)
    hub_yaml = yaml.safe_load((config / "hub.yaml").read_text(encoding="utf-8"))
    hub_yaml["clients"]["narrow"] = {"name": "Narrow client", "token": "${env:HUB_SEC_NARROW_TOKEN}",
                                     "allow": ["demo.ping"]}
    (config / "hub.yaml").write_text(yaml.safe_dump(hub_yaml, allow_unicode=True), encoding="utf-8")
    conn_yaml = yaml.safe_load((config / "connectors.yaml").read_text(encoding="utf-8"))
    conn_yaml["connectors"]["paygov"]["allow_ips"] = ["203.0.113.0/24"]      # not loopback: every call refused
    (config / "connectors.yaml").write_text(yaml.safe_dump(conn_yaml, allow_unicode=True), encoding="utf-8")
    proc = start_hub(workdir, "--config", str(config), env=SECRETS)
    proc.workdir = workdir  # type: ignore[attr-defined]
    yield proc
    proc.stop()


def message_count(hub: HubProc) -> int:
    with sqlite3.connect(hub.log_path.parent / "hub.db") as conn:
        return conn.execute("select count(*) from messages").fetchone()[0]


def unfinished_deliveries(hub: HubProc) -> int:
    with sqlite3.connect(hub.log_path.parent / "hub.db") as conn:
        return conn.execute("select count(*) from deliveries where state in ('pending', 'in_flight')").fetchone()[0]


def echo_effects(hub: HubProc) -> int:
    stats = requests.get(hub.sim_url + "/echo/_stats", timeout=10).json()
    return int(stats.get("requests", 0))


def assert_clean_text(text: str) -> None:
    """No secret, no unmasked personal id or phone number, no stack trace."""
    for name, secret in SECRETS.items():
        assert secret not in text, f"secret {name} leaked"
    assert "sandbox-demo-token" not in text and NARROW_TOKEN not in text
    assert CITIZEN_ID not in text and PHONE not in text
    assert "Traceback" not in text


def assert_refused(r: requests.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text[:500]
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers["Content-Type"]
    problem = r.json()
    assert problem["code"] == code, problem
    assert problem["detail"] and problem["fix"]
    assert_clean_text(r.text)
    return problem


class Watch:
    """Around one refused request: nothing stored as accepted, nothing sent to a partner."""

    def __init__(self, hub: HubProc) -> None:
        self.hub = hub

    def __enter__(self) -> "Watch":
        # Messages accepted by earlier tests are delivered asynchronously: wait until none is still on its way,
        # so a late delivery of theirs is not taken for an effect of the refused request.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and unfinished_deliveries(self.hub):
            time.sleep(0.1)
        self.messages, self.effects = message_count(self.hub), echo_effects(self.hub)
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            assert message_count(self.hub) == self.messages, "a refused request was stored"
            assert echo_effects(self.hub) == self.effects, "a refused request reached a partner"


@pytest.fixture
def watch(hub):
    return lambda: Watch(hub)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def post_raw(hub: HubProc, body: bytes, headers: dict[str, str] | None = None, path: str = "/v1/messages"):
    return requests.post(hub.url + path, data=body, headers={**auth(), **(headers or {})}, timeout=30)


HERE = Path(__file__).parent


def dashboard(hub: HubProc, user: str = "viewer", password: str = "sandbox-viewer") -> requests.Session:
    """A browser-like session logged in to the running hub's dashboard (the sandbox accounts of hub.yaml)."""
    browser = requests.Session()
    browser.trust_env = False
    page = browser.get(hub.url + "/ui/login", timeout=30)
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    r = browser.post(hub.url + "/ui/login", data={"username": user, "password": password, "login_csrf": token,
                                                  "next": "/ui"}, timeout=30, allow_redirects=False)
    assert r.status_code == 303 and "hub_session" in browser.cookies, (r.status_code, r.text[:300])
    return browser


def csrf_of(browser: requests.Session, hub: HubProc) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', browser.get(hub.url + "/ui/dead-letters", timeout=30).text).group(1)
