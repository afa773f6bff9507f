"""Payments end to end on the embedded default: `run.py serve` as a subprocess, the three intermediaries'
simulators paying, the sandbox one-stop system and the national portal (DVCQG, as the dossier's payment status)
receiving payment.completed, then `run.py reconcile`.

The issue's full size: 300 dossiers (N_PAYMENTS), 100 per intermediary. About 2 min 45 s on 2 shared cores under
load (SQLite commits with synchronous=FULL dominate: about 11 per payment, create + callback + two deliveries).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.conftest import ROOT
from tests.harness import start_hub, wait_until

pytestmark = pytest.mark.e2e
N_PAYMENTS = 300
PROVIDERS = ("paygov", "vnpay", "momo")
VIETNAM = timezone(timedelta(hours=7))


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("payments")
    shutil.copytree(ROOT / "config", workdir / "config")
    proc = start_hub(workdir, "--config", str(workdir / "config"), wait=60)   # a loaded CI machine starts slowly
    proc.config_dir = workdir / "config"
    proc.db = workdir / "hub.db"
    for provider in PROVIDERS:   # the merchant's callback URL, as registered with each intermediary
        requests.post(f"{proc.sim_url}/{provider}/_config", json={"ipn_url": f"{proc.url}/v1/inbound/{provider}"},
                      timeout=5).raise_for_status()
    yield proc
    assert proc.stop() == 0, proc.log()[-2000:]


def reconcile(hub, *extra: str) -> subprocess.CompletedProcess:  # noqa: ANN001
    port = hub.sim_url.rsplit(":", 1)[1]
    cmd = [sys.executable, str(ROOT / "run.py"), "reconcile", "--config", str(hub.config_dir), "--store",
           f"sqlite:///{hub.db}", "--sim-port", port, "--date", datetime.now(VIETNAM).strftime("%Y-%m-%d"), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def open_payment(hub, i: int, run: str) -> dict:  # noqa: ANN001
    provider = PROVIDERS[i % 3]
    payload = {"dossier_code": f"000.00.14.H20-231120-{i + 1:04d}", "agency_id": "000.00.14.H20",
               "provider": provider, "reference": f"E{run}{i:05d}", "amount": 10000 + 1000 * i,
               "currency": "VND", "description": f"Nộp lệ phí hồ sơ số {i + 1}",
               "fees": [{"name": "Lệ phí", "amount": 10000 + 1000 * i, "kind": "charge"}]}
    r = hub.post("/v1/calls", json={"id": f"pay-{run}-{i}", "type": "payment.create", "payload": payload})
    assert r.status_code == 200, r.text
    reply = r.json()["reply"]
    assert reply["reference"] == payload["reference"]
    requests.get(reply["payment_url"], timeout=10).raise_for_status()     # the payer's browser opens the page
    return payload


def pay(hub, provider: str, reference: str, **spec) -> dict:  # noqa: ANN001
    r = requests.post(f"{hub.sim_url}/{provider}/_pay", json={"reference": reference, **spec}, timeout=30)
    r.raise_for_status()
    return r.json()


def portal_payments(hub) -> dict[str, int]:  # noqa: ANN001
    """Payment updates the DVCQG simulator received, per dossier (every arrival counted)."""
    return requests.get(f"{hub.sim_url}/dvcqg/_dossiers", timeout=10).json()["payments"]


def test_payments_reach_the_client_and_dvcqg_once_forgeries_refused_and_reconciliation(hub):
    run = uuid.uuid4().hex[:6]
    codes = [f"000.00.14.H20-231120-{i + 1:04d}" for i in range(N_PAYMENTS)]
    # the dossiers are on the portal already (synced when received; fee due): the payment status is laid over them
    requests.post(f"{hub.sim_url}/dvcqg/_dossiers", json={"codes": codes, "status": 6}, timeout=10).raise_for_status()
    with ThreadPoolExecutor(6) as pool:
        orders = list(pool.map(lambda i: open_payment(hub, i, run), range(N_PAYMENTS)))

    # forged IPNs first, one per intermediary: each refused in the partner's own format, with its code
    forged = {o["provider"]: o for o in orders[:3]}
    vn = pay(hub, "vnpay", forged["vnpay"]["reference"], forge=True)["replies"][0]
    assert json.loads(vn["body"])["RspCode"] == "97"
    pg = json.loads(pay(hub, "paygov", forged["paygov"]["reference"], forge=True)["replies"][0]["body"])
    assert pg["MaLoi"] == "99" and pg["MoTaLoi"] == "checksum.mismatch"
    mm = pay(hub, "momo", forged["momo"]["reference"], forge=True)["replies"][0]
    assert mm["status"] == 400 and json.loads(mm["body"])["code"] == "checksum.mismatch"

    # every order paid: a third with duplicate IPNs, a third held back and delivered in reverse order
    def settle(item: tuple[int, dict]) -> None:
        i, o = item
        spec = {"duplicates": 2} if i % 3 == 0 else {"hold": True, "duplicates": 2 if i % 2 else 1} if i % 3 == 1 else {}
        pay(hub, o["provider"], o["reference"], **spec)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(settle, enumerate(orders)))
    for provider in PROVIDERS:
        replies = requests.post(f"{hub.sim_url}/{provider}/_flush", json={"order": "reverse"}, timeout=60).json()["replies"]
        assert all(r["status"] in (200, 204) for r in replies), replies[:3]

    def completed() -> dict[str, int]:
        events = requests.get(f"{hub.sim_url}/onestop/demo/events", timeout=10).json()
        counts: dict[str, int] = {}
        for e in events:
            if e["type"] == "payment.completed" and e["payload"]["reference"].startswith(f"E{run}"):
                counts[e["payload"]["reference"]] = counts.get(e["payload"]["reference"], 0) + 1
        return counts

    wait_until(lambda: len(completed()) >= N_PAYMENTS, timeout=60)
    assert completed() == {o["reference"]: 1 for o in orders}, "every genuine payment reaches the client exactly once"
    sample = next(e for e in requests.get(f"{hub.sim_url}/onestop/demo/events", timeout=10).json()
                  if e["type"] == "payment.completed" and e["payload"]["reference"] == orders[4]["reference"])
    assert sample["payload"]["amount"] == orders[4]["amount"] and sample["payload"]["paid"] is True
    assert sample["subject"] == orders[4]["dossier_code"]

    # ... and the national portal, as the dossier's payment status, exactly once
    wait_until(lambda: len(portal_payments(hub)) >= N_PAYMENTS, timeout=60)
    assert portal_payments(hub) == {code: 1 for code in codes}, "every genuine payment reaches DVCQG exactly once"
    for o in orders[:6]:
        state = requests.get(f"{hub.sim_url}/dvcqg/_dossiers/{o['dossier_code']}", timeout=10).json()
        [paid] = state["payments"]
        assert paid["MaThamChieuThanhToan"] == o["reference"] and paid["SoTienThanhToan"] == str(o["amount"])
        assert paid["TrangThaiThanhToan"] == "1" and state["status"] == 6
        assert state["dossier"]["DanhSachLePhi"][0]["Gia"] == str(o["amount"])

    clean = reconcile(hub)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.count(": clean") == 3

    requests.post(f"{hub.sim_url}/vnpay/_plant", json={"reference": f"X{run}PLANTED", "amount": 5000},
                  timeout=5).raise_for_status()
    off = reconcile(hub, "--partner", "vnpay")
    assert off.returncode == 1, off.stdout + off.stderr
    assert "paid_but_unknown" in off.stdout and f"X{run}PLANTED" in off.stdout
