"""DVCQG end to end: `run.py serve` as a subprocess, 20 agencies × 10 dossiers through statuses 1→2→4→9→10 with
steps, random partner faults; afterwards the portal simulator holds exactly the final state and the ordered step
history of every dossier, and every status's sync lag is recorded.

The issue's full variant (50 dossiers per agency, RabbitMQ, PostgreSQL, 4 worker processes) is
tests/e2e/test_dvcqg_cluster_e2e.py; it reuses the scenario below (``plans``, ``partner_faults``, ``portal_problems``).
"""
from __future__ import annotations

import copy
import json
import random
import shutil
import subprocess
import sys
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml

from tests.conftest import ROOT
from tests.harness import TOKEN, start_hub, wait_until

pytestmark = pytest.mark.e2e
AGENCIES = [f"000.00.{10 + i:02d}.H20" for i in range(20)]
PER_AGENCY = 10
STATUSES = (1, 2, 4, 9, 10)
SYNC = json.loads((ROOT / "tests/fixtures/messages/dossier.sync.json").read_text(encoding="utf-8"))
STEP = json.loads((ROOT / "tests/fixtures/messages/dossier.progress.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("dvcqg-e2e")
    config = workdir / "config"
    shutil.copytree(ROOT / "config", config)
    quick_portal(config)
    proc = start_hub(workdir, "--config", str(config))
    proc.workdir = workdir
    proc.store_url = f"sqlite:///{workdir}/hub.db"
    # the first poll syncs the catalogue; check_procedure needs it
    assert wait_until(lambda: lookup(proc, "1.001612.000.00.00.H20").get("found"), timeout=30), proc.log()[-3000:]
    yield proc
    assert proc.stop() == 0, proc.log()[-2000:]


def quick_portal(config: Path) -> None:
    """Test timings for the portal connector: frequent polls (the catalogue arrives fast), short read timeout."""
    connectors = yaml.safe_load((config / "connectors.yaml").read_text(encoding="utf-8"))
    connectors["connectors"]["dvcqg"].update(poll_interval=0.5, batch_max_wait=0.02, read_timeout=2)
    (config / "connectors.yaml").write_text(yaml.safe_dump(connectors, allow_unicode=True), encoding="utf-8")


def lookup(hub, code: str) -> dict:
    r = hub.post("/v1/calls", json={"type": "procedure.lookup", "payload": {"procedure_code": code}})
    return (r.json().get("reply") or {}) if r.status_code == 200 else {}


def sim(hub, path: str, **kwargs) -> requests.Response:
    method = "post" if "json" in kwargs else "get"
    return getattr(requests, method)(f"{hub.sim_url}/dvcqg{path}", timeout=10, **kwargs)


def sync_payload(code: str, agency: str, status: int) -> dict:
    p = copy.deepcopy(SYNC)
    p.update(dossier_code=code, agency_id=agency, status=status, receipt_number=code[-11:])
    for a in p["attachments"]:
        a["component_code"] = f"{agency}-{a['component_code'].rsplit('-', 1)[1]}"
    return p


def messages_for(code: str, agency: str) -> list[dict]:
    """What an agency's one-stop system sends for one dossier, in its order (ids: a 503 is re-sent as the same)."""
    out = []
    for status in STATUSES:
        out.append({"type": "dossier.sync", "payload": sync_payload(code, agency, status)})
        if status in (2, 4, 9):
            out.append({"type": "dossier.progress",
                        "payload": {**STEP, "dossier_code": code, "status": status, "content": f"Xử lý bước {status}"}})
    run = uuid.uuid4().hex[:6]
    return [{"id": f"{code}.{run}.{n}", **m} for n, m in enumerate(out)]


def plans(per_agency: int) -> dict[str, list[dict]]:
    """Fresh dossier codes (20 agencies × per_agency) and what each one-stop system sends for each, in order."""
    run = uuid.uuid4().hex[:4]
    codes = [(f"{agency}-231120-{int(run, 16) % 5 * 1000 + i:04d}", agency) for agency in AGENCIES
             for i in range(per_agency)]
    return {code: messages_for(code, agency) for code, agency in codes}


def interleaved(plans_: dict[str, list[dict]], clients: int) -> list[list[dict]]:
    """One stream per client, round by round: every dossier's updates interleave with the others', each dossier's
    stay in its order (a dossier belongs to one client, which sends its next update after the previous one)."""
    codes = list(plans_)
    streams = []
    for batch in (codes[i::clients] for i in range(clients)):
        rounds = max(len(plans_[c]) for c in batch) if batch else 0
        streams.append([plans_[c][r] for r in range(rounds) for c in batch if r < len(plans_[c])])
    return streams


@contextmanager
def partner_faults(sim_url: str, every: float = 0.4):
    """Random portal faults (5xx, invalid session, resets, 429, slow answers, busy) until the block ends; yields
    how many of each mode were switched on (each answers up to its ``count`` calls)."""
    stop = threading.Event()
    injected: Counter = Counter()

    def loop() -> None:
        rng = random.Random(5)
        specs = [{"mode": "status", "status": 503, "count": 3}, {"mode": "invalid_session", "count": 2},
                 {"mode": "reset", "count": 2}, {"mode": "status", "status": 429, "retry_after": 1, "count": 2},
                 {"mode": "slow", "delay": 0.05, "count": 10}, {"mode": "busy", "count": 2}]
        while not stop.wait(every):
            spec = rng.choice(specs)
            requests.post(f"{sim_url}/dvcqg/_faults", json=spec, timeout=10)
            injected[spec["mode"]] += 1
        requests.post(f"{sim_url}/dvcqg/_faults", json={"mode": "ok"}, timeout=10)

    chaos = threading.Thread(target=loop, daemon=True)
    chaos.start()
    try:
        yield injected
    finally:
        stop.set()
        chaos.join(15)


def portal_state(sim_url: str, code: str) -> dict:
    r = requests.get(f"{sim_url}/dvcqg/_dossiers/{code}", timeout=10)
    return r.json() if r.status_code == 200 else {}


def portal_problems(sim_url: str, codes: list[str]) -> list[tuple]:
    """Dossiers whose portal state is not exactly the final state with the full, ordered history and steps."""
    problems = []
    for code in codes:
        state = portal_state(sim_url, code)
        steps = [s["TrangThai"] for s in state.get("steps", [])]
        if (state.get("status") != 10 or state.get("history") != list(STATUSES) or steps != ["2", "4", "9"]
                or state.get("dossier", {}).get("ChuHoSo") != "Nguyễn Thị Hồng Nhung"):
            problems.append((code, state.get("status"), state.get("history"), steps))
    return problems


def test_every_dossier_reaches_the_portal_in_order_despite_faults(hub):
    todo = plans(PER_AGENCY)
    all_codes = list(todo)

    def send(stream: list[dict]) -> None:
        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        for body in stream:
            r = session.post(hub.url + "/v1/messages", json=body, timeout=30)
            assert r.status_code == 202, r.text

    with partner_faults(hub.sim_url):
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(send, interleaved(todo, 10)))

    def done() -> bool:
        return all(_state(hub, code).get("status") == 10 and len(_state(hub, code).get("steps", [])) == 3
                   for code in all_codes)

    assert wait_until(done, timeout=90, interval=1), hub.log()[-3000:]
    assert portal_problems(hub.sim_url, all_codes) == []
    lag = subprocess.run([sys.executable, str(ROOT / "run.py"), "stats", "sync-lag", "--json", "--since", "all",
                          "--config", str(hub.workdir / "config"), "--store", hub.store_url],
                         capture_output=True, text=True, timeout=60)
    rows = json.loads(lag.stdout)
    assert {r["agency_id"] for r in rows} >= set(AGENCIES)
    assert sum(r["syncs"] for r in rows if r["agency_id"] in AGENCIES) >= len(all_codes) * len(STATUSES)
    assert sim(hub, "/_dossiers").json()["logins"] <= 20       # sessions reused, not one per message


_cache: dict[str, dict] = {}


def _state(hub, code: str) -> dict:
    if _cache.get(code, {}).get("status") == 10 and len(_cache[code].get("steps", [])) == 3:
        return _cache[code]
    r = sim(hub, f"/_dossiers/{code}")
    _cache[code] = r.json() if r.status_code == 200 else {}
    return _cache[code]


def test_an_older_update_is_skipped_not_sent_over_a_newer_one(hub):
    code, agency = "000.00.14.H20-231121-0042", "000.00.14.H20"
    for status in (1, 2, 4, 9, 10):
        assert hub.post("/v1/messages", json={"type": "dossier.sync",
                                              "payload": sync_payload(code, agency, status)}).status_code == 202
    assert wait_until(lambda: sim(hub, f"/_dossiers/{code}").json().get("status") == 10, timeout=30)
    late = hub.post("/v1/messages", json={"type": "dossier.sync", "headers": {"updated_at": "2023-11-20T09:00:00+07:00"},
                                          "payload": sync_payload(code, agency, 4)}).json()["id"]
    view = wait_until(lambda: (v := hub.get(f"/v1/messages/{late}").json())["state"] == "delivered" and v, timeout=30)
    assert view and any(h["kind"] == "answered" and "skipped: older" in (h["detail"] or "") for h in view["hops"])
    assert sim(hub, f"/_dossiers/{code}").json()["history"] == [1, 2, 4, 9, 10]


def test_a_dossier_contradicting_the_catalogue_is_refused_with_the_field(hub):
    payload = sync_payload("000.00.14.H20-231121-0043", "000.00.14.H20", 1)
    payload["fees"][0]["amount"] = 99000
    mid = hub.post("/v1/messages", json={"type": "dossier.sync", "payload": payload}).json()["id"]
    view = wait_until(lambda: (v := hub.get(f"/v1/messages/{mid}").json())["state"] == "dead" and v, timeout=30)
    assert view and view["deliveries"][0]["last_code"] == "procedure.fee_mismatch"
    assert "fees[0].amount" in view["deliveries"][0]["last_error"]


def test_online_submissions_reach_the_owning_agency(hub):
    queued = sim(hub, "/_submissions", json={"count": 4, "agencies": ["000.00.14.H20", "000.00.15.H20"]}).json()["queued"]

    def received() -> set:
        events = requests.get(f"{hub.sim_url}/onestop/demo/events", timeout=10).json()
        return {e["subject"] for e in events if e["type"] == "dossier.submitted"} & set(queued)

    assert wait_until(lambda: received() == set(queued), timeout=30), hub.log()[-3000:]
    assert sim(hub, "/_dossiers").json()["queued"] == 0               # acknowledged on the portal's queue


def test_procedure_lookup_answers_from_the_synced_catalogue(hub):
    reply = lookup(hub, "1.000894")
    assert reply["found"] and reply["procedure"]["name"] == "Đăng ký kết hôn"
    assert lookup(hub, "9.999999") == {"found": False}


def test_get_procedure_from_the_catalogue(hub):
    r = hub.get("/v1/procedures/1.001612.000.00.00.H20")
    assert r.status_code == 200 and r.json()["methods"][0]["durations"][0]["fees"][0]["amount"] == 15000
    missing = hub.get("/v1/procedures/9.999999")
    assert missing.status_code == 404 and missing.json()["code"] == "procedure.not_found"
    assert requests.get(hub.url + "/v1/procedures/1.000894", timeout=10).status_code == 401
