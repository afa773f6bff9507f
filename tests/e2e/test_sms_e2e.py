"""SMS end to end on the embedded default: `run.py serve` as a subprocess; citizens' texts injected through the
Viettel simulator's MO endpoint reach /v1/inbound/sms and are answered from the hub's dossier record; dossier
status changes sent by the one-stop system become SMS at the gateway.

The dossier record is seeded through hub/store/dossiers.py before the hub starts (what the DVCQG connector writes
when the portal acknowledges a status), so the test exercises the SMS path and not the portal's.
"""
from __future__ import annotations

import copy
import json
import random
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from connectors._sms import STATUS_NAMES
from hub.store import Store
from hub.store.dossiers import Acknowledged, record
from hub.text import strip_diacritics
from tests.conftest import ROOT
from tests.harness import start_hub, wait_until

pytestmark = pytest.mark.e2e
SECRET = "sandbox-sms-mo-secret"
N_DOSSIERS = 80
VIETNAM = timezone(timedelta(hours=7))
SYNC = json.loads((ROOT / "tests/fixtures/messages/dossier.sync.json").read_text(encoding="utf-8"))


def code(i: int) -> str:
    return f"000.00.14.H20-231120-{i + 1:04d}"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sms")
    shutil.copytree(ROOT / "config", workdir / "config")
    store = Store(f"sqlite:///{workdir}/hub.db")
    store.migrate()
    base = datetime(2023, 11, 20, 8, 0, tzinfo=timezone.utc)

    def made_at(i: int) -> datetime:   # half as the one-stop system sends them (+07:00): the same instants
        at = base + timedelta(minutes=i)
        return at.astimezone(VIETNAM) if i % 2 else at
    record(store, [Acknowledged(code(i), "000.00.14.H20", "1.001612.000.00.00.H20", 1 + i % 10,
                                made_at(i), f"seed-{i}", made_at(i)) for i in range(N_DOSSIERS)])
    store.close()
    proc = start_hub(workdir, "--config", str(workdir / "config"))
    requests.post(f"{proc.sim_url}/viettel_sms/_config", json={"hub_url": f"{proc.url}/v1/inbound/sms",
                                                                "mo_secret": SECRET}, timeout=5).raise_for_status()
    yield proc
    assert proc.stop() == 0, proc.log()[-2000:]


def mo(hub, phone: str, info: str, **extra) -> dict:  # noqa: ANN001, ANN003
    r = requests.post(f"{hub.sim_url}/viettel_sms/_mo", json={"userId": phone, "serviceNumber": "8188",
                                                              "commandCode": "DVC", "info": info, **extra}, timeout=30)
    r.raise_for_status()
    return r.json()


def expected(i: int) -> str:
    status = 1 + i % 10
    at = (datetime(2023, 11, 20, 8, 0, tzinfo=timezone.utc) + timedelta(minutes=i)).astimezone(VIETNAM)
    return f"0;71;Ho so {code(i)}: {strip_diacritics(STATUS_NAMES[status])} (cap nhat {at:%H:%M %d/%m/%Y})."


def test_200_status_queries_valid_unknown_and_malformed(hub):
    rng = random.Random(7)
    queries = []                   # (phone, text, what the citizen must read)
    for n in range(200):
        phone = f"09{12000000 + n // 4:08d}"      # four texts per number: under the limit of five
        kind = n % 4
        if kind in (0, 1):
            i = rng.randrange(N_DOSSIERS)
            text = rng.choice([f"DVC {code(i)}", f"dvc {code(i).lower()}", f"  DVC   {code(i)} "])
            queries.append((phone, text, expected(i)))
        elif kind == 2:
            queries.append((phone, f"DVC 000.00.14.H20-231120-{5000 + n:04d}",
                            f"0;72;Khong tim thay ho so 000.00.14.H20-231120-{5000 + n:04d}."))
        else:
            text = rng.choice(["DVC", "DVC 12345", "HELLO", "DVC 000.00.14.H20-231399-0001", f"DVC {code(1)} {code(2)}",
                               "đăng ký"])
            queries.append((phone, text, "0;72;Sai cu phap. Soan DVC <ma ho so> gui 8188."))

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda q: mo(hub, q[0], q[1], commandCode=""), queries))
    for (phone, text, want), answer in zip(queries, answers):
        assert answer["status"] == 200, answer
        assert answer["body"].startswith(want), (text, answer["body"], want)
        assert answer["body"].isascii()

    # every MO that was answered also reached the client as sms.received
    def received() -> int:
        events = requests.get(f"{hub.sim_url}/onestop/demo/events", timeout=10).json()
        return sum(1 for e in events if e["type"] == "sms.received" and e["payload"]["phone"].startswith("849120"))
    assert wait_until(lambda: received() >= 200, timeout=30) and received() == 200


def test_rate_limit_and_forged_callbacks(hub):
    answers = [mo(hub, "0977123001", f"DVC {code(3)}")["body"] for _ in range(6)]
    assert all(a.startswith("0;71;") for a in answers[:5]) and answers[5].startswith("0;72;Ban da tra cuu qua nhieu")
    forged = mo(hub, "0977123002", f"DVC {code(3)}", secret="not-the-secret")
    assert forged["status"] == 401
    r = requests.post(f"{hub.url}/v1/inbound/sms", data={"userId": "84977123003", "serviceNumber": "8188",
                                                         "info": f"DVC {code(3)}"}, timeout=10)
    assert r.status_code == 401 and code(3) not in r.text


def test_status_changes_send_the_citizen_an_sms(hub):
    sent_before = len(requests.get(f"{hub.sim_url}/viettel_sms/_sms", timeout=10).json())
    wanted = {2: "da duoc tiep nhan", 5: "can bo sung giay to", 6: "nghia vu tai chinh", 9: "da co ket qua"}
    for n, status in enumerate((2, 4, 5, 6, 9)):
        payload = copy.deepcopy(SYNC)
        payload.update(dossier_code=f"000.00.14.H20-231121-{n + 1:04d}", status=status, phone=f"09051230{n:02d}")
        r = hub.post("/v1/messages", json={"type": "dossier.sync", "payload": payload})
        assert r.status_code in (200, 202), r.text

    def sent() -> list[dict]:
        return requests.get(f"{hub.sim_url}/viettel_sms/_sms", timeout=10).json()[sent_before:]
    assert wait_until(lambda: len(sent()) >= 4, timeout=30)
    got = {s["receiver"]: s for s in sent()}
    assert len(sent()) == 4 and "84905123001" not in got           # status 4 (in progress) sends nothing
    for n, status in enumerate((2, 4, 5, 6, 9)):
        if status in wanted:
            sms = got[f"849051230{n:02d}"]
            assert wanted[status] in sms["content"] and f"000.00.14.H20-231121-{n + 1:04d}" in sms["content"]
            assert sms["content_type"] == "0" and sms["encoding"] == "gsm7" and sms["segments"] == 1
