"""The dashboard in a real browser (Debian's headless chromium driven by Selenium through its chromedriver), against
`run.py serve` as a subprocess: log in, search a dossier, open its timeline, replay a dead letter. Screenshots are
kept in test-artifacts/browser/.

Set-up: chromium and chromium-driver from Debian. In CI (root) the test installs them with apt-get when missing;
elsewhere it skips with a notice saying what to install.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import uuid
from urllib.parse import urlencode

import pytest
import requests

from tests.conftest import ROOT
from tests.harness import start_hub, wait_until

pytestmark = pytest.mark.e2e
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _ensure_browser() -> None:
    if os.path.exists(CHROMIUM) and os.path.exists(DRIVER):
        return
    if os.environ.get("CI") == "true" and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        done = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], capture_output=True)
        if done.returncode == 0:
            return
        pytest.fail(f"could not install chromium: {done.stderr.decode()[-500:]}")
    pytest.skip("headless chromium not installed: apt-get install -y chromium chromium-driver (CI installs it)")


@pytest.fixture(scope="module")
def browser():
    _ensure_browser()
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install -e '.[test]' brings selenium")
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,900",
                 "--lang=vi"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.implicitly_wait(15)   # a cold CI machine: the first login (scrypt) and page loads take their time
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    # the sandbox configuration itself: its sandbox PKI is the one the partner simulators trust
    proc = start_hub(tmp_path_factory.mktemp("browser"))
    yield proc
    proc.stop()


def shot(driver, name: str) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def test_login_search_timeline_and_replay(browser, hub):
    from selenium.webdriver.common.by import By

    dossier = f"000.00.14.H20-260101-{uuid.uuid4().int % 10000:04d}"
    mid = f"browser-{uuid.uuid4().hex[:8]}"
    # The partner refuses the next request (HTTP 400): a permanent failure, so a dead letter.
    requests.post(hub.sim_url + "/echo/_faults", json={"mode": "status", "status": 400, "count": 1}, timeout=10)
    r = hub.post("/v1/messages", json={"id": mid, "type": "demo.ping", "subject": dossier,
                                       "payload": {"text": "<b>hồ sơ</b> 0912345678", "seq": 1}})
    assert r.status_code == 202, r.text
    assert wait_until(lambda: any(d["state"] == "dead" for d in hub.get(f"/v1/messages/{mid}").json()["deliveries"]),
                      timeout=30)

    browser.get(hub.url + "/ui")
    browser.find_element(By.ID, "username").send_keys("operator")
    browser.find_element(By.ID, "password").send_keys("sandbox-operator")
    shot(browser, "1-login")
    browser.find_element(By.ID, "login-submit").click()
    assert wait_for_page(browser, "Tổng quan"), browser.page_source[-500:]
    shot(browser, "2-overview")

    browser.get(hub.url + "/ui/search")
    browser.find_element(By.ID, "subject").send_keys(dossier)
    browser.find_element(By.ID, "search-submit").click()
    link = browser.find_element(By.CSS_SELECTOR, "#results a.msg")
    assert link.text == mid
    shot(browser, "3-search")

    link.click()
    timeline = browser.find_element(By.ID, "timeline").text
    assert "dead_lettered" in timeline and "received" in timeline
    payload = browser.find_element(By.ID, "payload").text
    assert "<b>hồ sơ</b>" in payload and "0912345678" not in payload   # shown as text, phone masked
    shot(browser, "4-timeline")

    browser.get(hub.url + "/ui/dead-letters?connector=echo")
    box = browser.find_element(By.CSS_SELECTOR, f"input.pick[value='{mid}/demo-ping-to-echo']")
    box.click()
    browser.find_element(By.ID, "replay-selected").click()
    shot(browser, "5-confirm")
    browser.find_element(By.ID, "confirm-replay").click()
    assert browser.find_element(By.ID, "replayed").is_displayed()
    shot(browser, "6-replayed")
    assert wait_until(lambda: all(d["state"] == "delivered"
                                  for d in hub.get(f"/v1/messages/{mid}").json()["deliveries"]), timeout=30)
    browser.get(hub.url + "/ui/audit")
    assert "replay" in browser.find_element(By.ID, "audit").text
    shot(browser, "7-audit")


def fixture_payload(name: str) -> dict:
    return json.loads((ROOT / "tests" / "fixtures" / "messages" / f"{name}.json").read_text(encoding="utf-8"))


def delivered(hub, mid: str) -> bool:  # noqa: ANN001
    r = hub.get(f"/v1/messages/{mid}")
    return r.status_code == 200 and all(d["state"] == "delivered" for d in r.json()["deliveries"])


def ensure_logged_in(browser, hub) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    browser.get(hub.url + "/ui")
    if "/ui/login" in browser.current_url:
        browser.find_element(By.ID, "username").send_keys("viewer")
        browser.find_element(By.ID, "password").send_keys("sandbox-viewer")
        browser.find_element(By.ID, "login-submit").click()
        assert wait_for_page(browser, "Tổng quan"), browser.page_source[-500:]


def wait_for_page(browser, text: str, timeout: float = 30) -> bool:  # noqa: ANN001
    """page_source does not wait for the navigation a click started (find_element does, implicitly)."""
    return bool(wait_until(lambda: text in browser.page_source, timeout=timeout, interval=0.2))


def test_sync_lag_search_by_agency_and_signature_results(browser, hub):
    """A dossier status acknowledged by the DVCQG simulator shows as its agency's sync lag; searching that agency
    finds both its messages; the signed edXML document's page shows the key, certificate and outcome."""
    from selenium.webdriver.common.by import By

    run = uuid.uuid4().int % 10000
    agency = "000.00.27.H20"
    code = f"{agency}-260115-{run:04d}"
    sync = fixture_payload("dossier.sync")
    sync.update(dossier_code=code, agency_id=agency, receipt_number=code[-11:])
    for a in sync["attachments"]:
        a["component_code"] = f"{agency}-{a['component_code'].rsplit('-', 1)[1]}"
    document = copy.deepcopy(fixture_payload("document.send"))
    document.update(dossier_code=code, code={"number": str(2000 + run), "notation": "UBND-KSTT"},
                    subject='Văn bản <img src=x onerror=alert(1)> về hồ sơ')
    ids = {"sync": f"sync-{run:04d}", "doc": f"doc-{run:04d}"}
    for key, mtype, payload in (("sync", "dossier.sync", sync), ("doc", "document.send", document)):
        r = hub.post("/v1/messages", json={"id": ids[key], "type": mtype, "payload": payload})
        assert r.status_code == 202, r.text
    for mid in ids.values():
        assert wait_until(lambda: delivered(hub, mid), timeout=90), (mid, hub.get(f"/v1/messages/{mid}").text)

    ensure_logged_in(browser, hub)
    browser.get(hub.url + "/ui/lang?to=vi&back=/ui")
    panel = browser.find_element(By.ID, "sync-lag")
    row = panel.find_element(By.XPATH, f".//tr[td/a[text()='{agency}']]")
    assert row.find_elements(By.TAG_NAME, "td")[1].text == "1"            # one status acknowledged
    assert "Độ trễ đồng bộ" in browser.page_source
    browser.execute_script("arguments[0].scrollIntoView()", panel)
    shot(browser, "8-sync-lag")

    row.find_element(By.TAG_NAME, "a").click()                            # the agency links to its search
    assert browser.find_element(By.ID, "agency").get_attribute("value") == agency
    found = {a.text for a in browser.find_elements(By.CSS_SELECTOR, "#results a.msg")}
    assert found == set(ids.values())
    shot(browser, "9-search-agency")
    browser.find_element(By.ID, "agency").clear()
    browser.find_element(By.ID, "agency").send_keys("000.00.99.H20")
    browser.find_element(By.ID, "search-submit").click()
    assert browser.find_element(By.ID, "no-results").is_displayed()

    browser.get(hub.url + f"/ui/message?id={ids['doc']}")
    signatures = browser.find_element(By.ID, "signatures").text
    assert "Đã ký" in signatures and "agency" in signatures and "rsa-sha256" in signatures
    assert "Số hiệu" in signatures and "Hiệu lực đến" in signatures
    # the hostile title is text in the payload, never an element
    assert "<img src=x onerror=alert(1)>" in browser.find_element(By.ID, "payload").text
    assert browser.find_elements(By.CSS_SELECTOR, "img") == []
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.ID, "signatures"))
    shot(browser, "10-signatures")
    browser.get(hub.url + "/ui/lang?" + urlencode({"to": "en", "back": f"/ui/message?id={ids['doc']}"}))
    assert "Signed" in browser.find_element(By.ID, "signatures").text
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.ID, "signatures"))
    shot(browser, "11-signatures-en")
    browser.get(hub.url + "/ui/lang?to=vi&back=/ui")
