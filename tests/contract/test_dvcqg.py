"""The DVCQG connector against its simulator: the shared contract, batching, sessions, every error code."""
from __future__ import annotations

import copy
import itertools
import json
import threading
from pathlib import Path

import pytest
import requests

from hub.errors import PermanentError, TransientError
from connectors.dvcqg_batch import Work
from tests.contract.kit import ConnectorContract, SimServer, delivery_for, make_connector, simulator_server
from transforms.dvcqg import dossier_item, evaluation_item, payment_item, step_item

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "messages"
SYNC = json.loads((FIXTURES / "dossier.sync.json").read_text(encoding="utf-8"))
STEP = json.loads((FIXTURES / "dossier.progress.json").read_text(encoding="utf-8"))
EVALUATION = json.loads((FIXTURES / "dossier.evaluation.json").read_text(encoding="utf-8"))
PAYMENT = json.loads((FIXTURES / "payment.completed.json").read_text(encoding="utf-8"))
_numbers = itertools.count(1)


def options(sim: SimServer, **extra) -> dict:
    return {"url": sim.url, "username": "sandbox-lgsp", "password": "sandbox-password", "dstcode": "LGSP-H20",
            "madonvi": "000.00.00.H20", "batch_max_wait": 0.05, **extra}


def dossier(status: int = 1, code: str | None = None) -> dict:
    payload = copy.deepcopy(SYNC)
    payload["dossier_code"] = code or f"000.00.14.H20-231120-{next(_numbers):04d}"
    payload["status"] = status
    return payload


def sync_delivery(status: int = 1, code: str | None = None):
    payload = dossier(status, code)
    return delivery_for("dossier.sync", payload, body=dossier_item(payload))


def step_delivery(code: str, content: str, status: int = 4):
    payload = {**STEP, "dossier_code": code, "content": content, "status": status}
    return delivery_for("dossier.progress", payload, body=step_item(payload))


def inspect(sim: SimServer, code: str) -> dict:
    return requests.get(f"{sim.url}/_dossiers/{code}", timeout=5).json()


class TestDvcqgContract(ConnectorContract):
    connector_type = "dvcqg"
    simulator = "dvcqg"

    def options(self, sim: SimServer) -> dict:
        return options(sim)

    def delivery(self):
        return sync_delivery()

    def effects(self, sim, delivery) -> int:
        return len(sim.app.history.get(delivery.message.payload["dossier_code"], []))

    def check_reply(self, reply, delivery) -> None:
        assert reply.status == 200 and reply.partner_ref.startswith("DongBoHoSoMC ")


@pytest.fixture
def sim():
    with simulator_server("dvcqg") as server:
        yield server


@pytest.fixture
def conn(sim):
    c = make_connector("dvcqg", options(sim))
    yield c
    c.stop()


def test_create_then_update_then_steps_in_order(conn, sim):
    code = sync_delivery(1).message.payload["dossier_code"]
    for status in (1, 2, 4):
        conn.send(sync_delivery(status, code))
    for i in range(3):
        conn.send(step_delivery(code, f"Bước {i}: thẩm định hồ sơ"))
    state = inspect(sim, code)
    assert state["status"] == 4 and state["history"] == [1, 2, 4]
    assert [s["NoiDungXuLy"] for s in state["steps"]] == [f"Bước {i}: thẩm định hồ sơ" for i in range(3)]
    assert state["dossier"]["ChuHoSo"] == "Nguyễn Thị Hồng Nhung"
    assert sim.app.logins == 1                      # one session for every call


def test_both_success_forms_are_accepted(conn, sim):
    for form in (0, "00"):
        requests.post(f"{sim.url}/_config", json={"success_code": form}, timeout=5)
        assert conn.send(sync_delivery()).status == 200


def test_concurrent_sends_share_batches_and_each_gets_its_own_answer(sim):
    conn = make_connector("dvcqg", options(sim, batch_max_size=20, batch_max_wait=0.2))
    deliveries = [sync_delivery() for _ in range(19)]
    bad = sync_delivery()
    bad.body["NgayTiepNhan"] = "2023-11-20"       # a wrong date: refused by the portal, alone
    results: dict[str, object] = {}

    def send(d):
        try:
            results[d.id] = conn.send(d)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[d.id] = exc

    threads = [threading.Thread(target=send, args=(d,)) for d in deliveries + [bad]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert all(results[d.id].status == 200 for d in deliveries)
    assert isinstance(results[bad.id], PermanentError) and results[bad.id].code == "dvcqg.invalid_data"
    assert "NgayTiepNhan" in results[bad.id].detail
    assert sim.app.calls["DongBoHoSoMC"] <= 3        # batched, not one call per dossier


def send_concurrently(conn, deliveries, timeout: float) -> None:  # noqa: ANN001
    """One thread per delivery, as concurrent dispatchers call a connector, so the batcher joins them."""
    threads = [threading.Thread(target=conn.send, args=(d,)) for d in deliveries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)


def test_session_expiry_mid_batch_renews_once(sim):
    conn = make_connector("dvcqg", options(sim, batch_max_size=10, batch_max_wait=0.1))
    conn.send(sync_delivery())
    requests.post(f"{sim.url}/_config", json={"expire_sessions": True}, timeout=5)
    deliveries = [sync_delivery() for _ in range(10)]
    send_concurrently(conn, deliveries, 10)
    assert all(inspect(sim, d.message.payload["dossier_code"])["status"] == 1 for d in deliveries)
    assert sim.app.logins == 2


def test_session_expiring_between_a_batchs_calls_renews_once_and_loses_nothing(sim):
    """Half of a batch's dossiers are on the portal already (synced by another system): the portal refuses them as
    new and forgets the session right after that first DongBoHoSoMC, so their second one (as updates) and the
    steps' CapNhatTienDoHoSoMC meet an unknown session: one new login, shared, and every dossier and step arrives."""
    conn = make_connector("dvcqg", options(sim, batch_max_size=8, batch_max_wait=1.0))
    other = make_connector("dvcqg", options(sim))
    elsewhere = [sync_delivery() for _ in range(4)]
    for d in elsewhere:
        other.send(d)
    sync, calls = sim.app.services["DongBoHoSoMC"], []

    def sync_then_forget(body):
        answer = sync(body)
        calls.append(body["isUpdating"])
        if len(calls) == 1:
            sim.app.sessions.clear()            # the batch's first call: its second one is refused
        return answer

    sim.app.services["DongBoHoSoMC"] = sync_then_forget
    deliveries = [sync_delivery(2, d.message.payload["dossier_code"]) for d in elsewhere] + \
        [sync_delivery() for _ in range(4)]
    logins = sim.app.logins
    send_concurrently(conn, deliveries, 15)
    codes = [d.message.payload["dossier_code"] for d in deliveries]
    assert calls == ["False", "True"] and sim.app.calls.get("TraCuuHoSo", 0) == 0
    assert all(inspect(sim, code)["history"] == [1, 2] for code in codes[:4])
    assert all(inspect(sim, code)["history"] == [1] for code in codes[4:])
    assert sim.app.logins == logins + 2         # this connector's first login, one renewal
    sim.app.sessions.clear()                    # expired again: the steps' batch renews once more
    send_concurrently(conn, [step_delivery(code, "Tiếp nhận") for code in codes], 15)
    assert all([s["NoiDungXuLy"] for s in inspect(sim, code)["steps"]] == ["Tiếp nhận"] for code in codes)
    assert sim.app.logins == logins + 3
    conn.stop()
    other.stop()


def test_invalid_session_fault_is_survived_and_twice_is_transient(conn, sim):
    sim.fault(mode="invalid_session", count=1)
    assert conn.send(sync_delivery()).status == 200
    sim.fault(mode="invalid_session")             # every call: the renewed session is refused too
    with pytest.raises(TransientError) as info:
        conn.send(sync_delivery())
    assert info.value.code == "dvcqg.invalid_session"


def test_session_ttl_renews_before_the_portal_refuses(sim):
    conn = make_connector("dvcqg", options(sim, session_ttl=1))
    conn.send(sync_delivery())
    conn._session_until = 0                      # time passed
    conn.send(sync_delivery())
    assert sim.app.logins == 2


def test_impossible_transition_is_permanent(conn, sim):
    code = sync_delivery().message.payload["dossier_code"]
    for status in (1, 2, 4, 9, 10):
        conn.send(sync_delivery(status, code))
    with pytest.raises(PermanentError) as info:
        conn.send(sync_delivery(4, code))
    assert info.value.code == "dvcqg.status_transition" and "10" in info.value.detail
    assert inspect(sim, code)["status"] == 10


def test_existing_dossier_sent_as_new_is_resent_as_update(conn, sim):
    code = sync_delivery().message.payload["dossier_code"]
    conn.send(sync_delivery(1, code))
    other = make_connector("dvcqg", options(sim))       # knows nothing: sent as new, refused, sent as an update
    before = dict(sim.app.calls)
    other.send(sync_delivery(2, code))
    assert inspect(sim, code)["history"] == [1, 2]
    assert sim.app.calls["DongBoHoSoMC"] - before["DongBoHoSoMC"] == 2
    assert sim.app.calls.get("TraCuuHoSo", 0) == before.get("TraCuuHoSo", 0)   # no look-up before a sync
    other.send(sync_delivery(4, code))                  # now known here: one call, as an update
    assert sim.app.calls["DongBoHoSoMC"] - before["DongBoHoSoMC"] == 3
    # the simulator itself refuses isUpdating "False" for an existing dossier
    answer = other.call("TraCuuHoSo", mahoso=code)
    assert answer["result"]
    work = Work("dossier", code, dossier_item(dossier(2, code)))
    other._send_items("DongBoHoSoMC", [work], isUpdating="False")
    assert work.error is not None and work.error.code == "dvcqg.dossier_exists"


@pytest.mark.parametrize("setup,code", [
    ("wrong_password", "dvcqg.login_refused"), ("no_dstcode", "dvcqg.missing_dstcode"),
    ("unknown_service", "dvcqg.unknown_service"), ("step_unknown_dossier", "dvcqg.dossier_not_found"),
    ("missing_field", "dvcqg.invalid_data"), ("unknown_procedure", "dvcqg.procedure_not_found")])
def test_each_error_code_is_permanent(sim, setup, code):
    opts = options(sim)
    if setup == "wrong_password":
        opts["password"] = "wrong"
    conn = make_connector("dvcqg", opts)
    with pytest.raises(PermanentError) as info:
        if setup == "no_dstcode":
            conn.options = {**opts, "dstcode": ""}
            conn.call("TraCuuHoSo", mahoso="x")
        elif setup == "unknown_service":
            conn.call("LayGiDo")
        elif setup == "step_unknown_dossier":
            conn.send(step_delivery("000.00.14.H20-231120-9999", "Tiếp nhận"))
        elif setup == "missing_field":
            d = sync_delivery()
            d.body["ChuHoSo"] = ""
            conn.send(d)
        elif setup == "unknown_procedure":
            conn.call("LayThuTuc", maTTHC="9.999999")
        else:
            conn.send(sync_delivery())
    assert info.value.code == code


def test_busy_portal_is_transient_and_unknown_code_permanent(conn, sim, monkeypatch):
    from connectors import dvcqg
    err = dvcqg.answer_error(99, "quá tải", "DongBoHoSoMC")
    assert isinstance(err, TransientError) and err.code == "dvcqg.busy"
    err = dvcqg.answer_error("42", "lạ", "DongBoHoSoMC")
    assert isinstance(err, PermanentError) and err.code == "dvcqg.unknown_error"
    assert dvcqg.success(0) and dvcqg.success("00") and not dvcqg.success("01")


def test_evaluation_after_sync(conn, sim):
    code = sync_delivery().message.payload["dossier_code"]
    conn.send(sync_delivery(10, code))
    payload = {**EVALUATION, "dossier_code": code}
    conn.send(delivery_for("dossier.evaluation", payload, body=evaluation_item(payload)))
    assert inspect(sim, code)["evaluations"][0]["NoiDungGopY"].startswith("Nhận kết quả")


def test_poll_pulls_online_submissions_for_the_owner(sim):
    conn = make_connector("dvcqg", options(sim, poll_interval=0, catalogue_sync_interval=0,
                                           agency_owners={"000.00.15.H20": "000.00.14.H20"}))
    requests.post(f"{sim.url}/_submissions", json={"count": 3, "agencies": ["000.00.14.H20", "000.00.15.H20"]},
                  timeout=5)
    items = conn.poll()
    assert len(items) == 3 and all(i.type == "dossier.submitted" for i in items)
    assert {i.payload["agency_id"] for i in items} == {"000.00.14.H20"}
    assert items[0].payload["applicant_name"] == "Phạm Thị Lan" and items[0].id.startswith("dvcqg-submitted-")
    conn.acknowledge(items)
    assert conn.poll() == []


def test_busy_answer_is_transient_and_recovers(conn, sim):
    sim.fault(mode="busy", count=1)
    with pytest.raises(TransientError) as info:
        conn.send(sync_delivery())
    assert info.value.code == "dvcqg.busy"
    assert conn.send(sync_delivery()).status == 200


def payment_delivery(code: str, reference: str = "H20231120000101"):
    payload = {**PAYMENT, "dossier_code": code, "reference": reference}
    return delivery_for("payment.completed", payload, body=payment_item(payload))


def test_payment_is_laid_over_the_portals_dossier(conn, sim):
    code = sync_delivery().message.payload["dossier_code"]
    conn.send(sync_delivery(6, code))                         # fee due
    reply = conn.send(payment_delivery(code))
    assert reply.status == 200 and reply.partner_ref == f"DongBoHoSoMC {code}"
    state = inspect(sim, code)
    assert state["status"] == 6 and state["history"] == [6]   # the payment changes no status
    assert state["dossier"]["ChuHoSo"] == "Nguyễn Thị Hồng Nhung" and state["dossier"]["MaTTHC"] == SYNC["procedure_code"]
    assert [p["MaThamChieuThanhToan"] for p in state["payments"]] == ["H20231120000101"]
    assert state["dossier"]["NgayThanhToan"] == "20231120082533" and state["dossier"]["TrangThaiThanhToan"] == "1"
    assert [f["HinhThucThu"] for f in state["dossier"]["DanhSachLePhi"]] == ["Trực tuyến qua PayGov", "Chuyển khoản"]
    again = conn.send(payment_delivery(code))                 # a retry after a lost answer: not sent twice
    assert again.status == 208 and again.partner_ref.startswith("skipped:")
    assert len(inspect(sim, code)["payments"]) == 1
    conn.send(sync_delivery(4, code))                         # the one-stop system's next update still applies
    assert inspect(sim, code)["status"] == 4


def test_payment_for_a_dossier_the_portal_lacks_waits(conn, sim):
    code = f"000.00.14.H20-231120-{next(_numbers):04d}"
    with pytest.raises(TransientError) as info:
        conn.send(payment_delivery(code))
    assert info.value.code == "dvcqg.payment_before_dossier" and code not in sim.app.payments
    requests.post(f"{sim.url}/_dossiers", json={"codes": [code]}, timeout=5).raise_for_status()
    assert conn.send(payment_delivery(code)).status == 200
    assert len(inspect(sim, code)["payments"]) == 1
