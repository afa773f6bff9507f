"""The SMS brandname connectors against their simulators (the shared contract), their refusals, and the MO
status look-up (sms_mo) against the hub's dossier record."""
from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta, timezone
from typing import Iterator
from urllib.parse import urlencode

import pytest
import yaml

from hub import registry
from hub.contracts import InboundRequest
from hub.errors import PermanentError, TransientError
from hub.store import Store, rate_limits
from hub.store.dossiers import Acknowledged, record
from tests.conftest import ROOT
from tests.contract.kit import ConnectorContract, SimServer, StubContext, delivery_for, make_connector, simulator_server

TEMPLATES = yaml.safe_load((ROOT / "config/connectors.yaml").read_text(encoding="utf-8"))["connectors"]["sms_viettel"]["templates"]
VIETTEL = {"user": "lgsp-sandbox", "password": "sandbox-viettel-sms", "cp_code": "LGSPH20", "brandname": "DONGTHAPDVC",
           "templates": TEMPLATES, "read_timeout": 5}
VNPT = {"api_user": "lgsp-sandbox", "api_pass": "sandbox-vnpt-sms", "agent_id": "244", "label_id": "DONGTHAPDVC",
        "contract_id": "2024-LGSP-01", "template_id": "LGSP-FREE", "templates": TEMPLATES, "read_timeout": 5}
TEXT = "Hồ sơ 000.00.14.H20-231120-0001 đã có kết quả – mời ông/bà đến nhận."
VIETNAM = timezone(timedelta(hours=7))


def sms(**extra) -> object:  # noqa: ANN003
    return delivery_for("sms.send", {"phone": "0905 123 456", "content": TEXT, **extra})


class TestViettelContract(ConnectorContract):
    connector_type = "viettel_sms"
    simulator = "viettel_sms"
    idempotent = False      # wsCpMt takes no idempotency key: a retry after a lost answer may send twice

    def options(self, sim: SimServer) -> dict:
        return {**VIETTEL, "url": sim.url}

    def delivery(self):  # noqa: ANN201
        return sms()

    def effects(self, sim, delivery) -> int:  # noqa: ANN001
        return sum(1 for s in sim.app.sent if s["request_id"] == delivery_request_id(delivery))

    def check_reply(self, reply, delivery) -> None:  # noqa: ANN001
        assert reply.payload == {"segments": 1, "encoding": "gsm7", "characters": len(reply_text())}
        assert reply.partner_ref == delivery_request_id(delivery)


def delivery_request_id(delivery) -> str:  # noqa: ANN001
    return hashlib.sha256(delivery.idempotency_key.encode()).hexdigest()[:20]


def reply_text() -> str:
    return "Ho so 000.00.14.H20-231120-0001 da co ket qua - moi ong/ba den nhan."


class TestVnptContract(TestViettelContract):
    connector_type = "vnpt_sms"
    simulator = "vnpt_sms"

    def options(self, sim: SimServer) -> dict:
        return {**VNPT, "url": sim.url}


@pytest.mark.parametrize("gateway,options", [("viettel_sms", VIETTEL), ("vnpt_sms", VNPT)])
def test_text_is_unaccented_number_84_and_segments_recorded(gateway, options):  # noqa: ANN001
    with simulator_server(gateway) as sim:
        conn = make_connector(gateway, {**options, "url": sim.url})
        reply = conn.send(sms())
        got = sim.app.sent[-1]
        assert got["receiver"] == "84905123456" and got["content"] == reply_text() and got["brandname"] == "DONGTHAPDVC"
        assert got["encoding"] == "gsm7" and got["segments"] == reply.payload["segments"] == 1
        longer = TEXT + " Trân trọng."                # kept marks: UCS-2, 70 alone, 67 per part -> 2 parts
        reply = conn.send(sms(content=longer, unicode=True))
        got = sim.app.sent[-1]
        assert got["content"] == longer and got["encoding"] == "ucs2"
        assert reply.payload == {"segments": 2, "encoding": "ucs2", "characters": len(longer)}


@pytest.mark.parametrize("gateway,options", [("viettel_sms", VIETTEL), ("vnpt_sms", VNPT)])
def test_status_template_rendered_from_a_dossier_sync(gateway, options):  # noqa: ANN001
    payload = {"dossier_code": "000.00.14.H20-231120-0001", "status": 2, "phone": "0905123456",
               "received_at": "2023-11-20T08:15:00+07:00", "due_at": "2023-11-22T16:30:00+07:00"}
    with simulator_server(gateway) as sim:
        conn = make_connector(gateway, {**options, "url": sim.url})
        reply = conn.send(delivery_for("dossier.sync", payload, options={"template": "dossier_received"}))
        assert sim.app.sent[-1]["content"] == (
            "Ho so 000.00.14.H20-231120-0001 da duoc tiep nhan ngay 20/11/2023, hen tra ket qua ngay 22/11/2023. "
            "Tra cuu: soan DVC 000.00.14.H20-231120-0001 gui 8188.")
        assert reply.payload["segments"] == 1
        with pytest.raises(PermanentError) as info:     # the template needs due_at
            conn.send(delivery_for("dossier.sync", {**payload, "due_at": None}, options={"template": "dossier_received"}))
        assert info.value.code == "sms.template_field_missing"
        with pytest.raises(PermanentError) as info:
            conn.send(delivery_for("dossier.sync", payload, options={"template": "no_such"}))
        assert info.value.code == "sms.template_unknown"


@pytest.mark.parametrize("gateway,options", [("viettel_sms", VIETTEL), ("vnpt_sms", VNPT)])
def test_bad_numbers_never_reach_the_gateway(gateway, options):  # noqa: ANN001
    with simulator_server(gateway) as sim:
        conn = make_connector(gateway, {**options, "url": sim.url})
        for number in ("02773822222", "0123456789", "+1 415 555 0100", "090512345"):   # landline, old, foreign, short
            with pytest.raises(PermanentError) as info:
                conn.send(sms(phone=number))
            assert info.value.code == "sms.bad_number" and number not in info.value.detail
        assert sim.app.sent == []


@pytest.mark.parametrize("gateway,options,field", [("viettel_sms", VIETTEL, "password"), ("vnpt_sms", VNPT, "api_pass"),
                                                   ("viettel_sms", VIETTEL, "brandname"), ("vnpt_sms", VNPT, "label_id")])
def test_gateway_refusals_are_permanent(gateway, options, field):  # noqa: ANN001
    with simulator_server(gateway) as sim:
        conn = make_connector(gateway, {**options, "url": sim.url, field: "wrong"})
        with pytest.raises(PermanentError) as info:
            conn.send(sms())
        assert info.value.code == "sms.refused"
        assert sim.app.sent == [] and len(sim.app.refused) == 1


def test_injected_refusals_viettel_permanent_vnpt_99_transient():
    with simulator_server("viettel_sms") as sim:
        conn = make_connector("viettel_sms", {**VIETTEL, "url": sim.url})
        sim.app.refuse_next = 1
        with pytest.raises(PermanentError) as info:
            conn.send(sms())
        assert info.value.code == "sms.refused"
        conn.send(sms())
        assert len(sim.app.sent) == 1
    with simulator_server("vnpt_sms") as sim:
        conn = make_connector("vnpt_sms", {**VNPT, "url": sim.url})
        sim.app.refuse_next, sim.app.refusal_code = 1, "99"
        with pytest.raises(TransientError):
            conn.send(sms())
        conn.send(sms())
        assert len(sim.app.sent) == 1


def test_vnpt_registered_template_with_params():
    with simulator_server("vnpt_sms") as sim:
        conn = make_connector("vnpt_sms", {**VNPT, "url": sim.url})
        conn.send(sms(content="Ho so 000.00.14.H20-231120-0001 da duoc tiep nhan ngay 20/11/2023. Tra cuu: soan DVC "
                      "000.00.14.H20-231120-0001 gui 8188", template_id="LGSP-HS-TIEPNHAN",
                      params=[{"num": 1, "content": "000.00.14.H20-231120-0001"}, {"num": 2, "content": "20/11/2023"}]))
        got = sim.app.sent[-1]
        assert got["template_id"] == "LGSP-HS-TIEPNHAN" and "ngay 20/11/2023" in got["content"]
        with pytest.raises(PermanentError) as info:   # params not matching the template
            conn.send(sms(template_id="LGSP-HS-TIEPNHAN", params=[{"num": 1, "content": "x"}]))
        assert info.value.code == "sms.refused"


def test_too_long_is_refused_before_sending():
    with simulator_server("viettel_sms") as sim:
        conn = make_connector("viettel_sms", {**VIETTEL, "url": sim.url, "max_segments": 2})
        with pytest.raises(PermanentError) as info:
            conn.send(sms(content="a" * 400))
        assert info.value.code == "sms.too_long" and sim.app.sent == []


def test_viettel_soap_fault_is_a_refusal_and_garbage_is_bad_reply():
    with simulator_server("viettel_sms") as sim:
        conn = make_connector("viettel_sms", {**VIETTEL, "url": sim.url, "soap_path": "/_nowhere"})
        with pytest.raises(PermanentError) as info:
            conn.send(sms())
        assert info.value.code.startswith("delivery.")


# --- MO: status by SMS -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path_factory.mktemp('sms')}/hub.db")
    s.migrate()
    at = datetime(2023, 11, 20, 8, 15, tzinfo=VIETNAM).astimezone(timezone.utc)   # the store keeps UTC
    record(s, [Acknowledged("000.00.14.H20-231120-0001", "000.00.14.H20", "1.001612", 4, at, "m-1", at),
               Acknowledged("000.00.14.H20-231120-0002", "000.00.14.H20", "1.001612", 9, at, "m-2", at)])
    yield s
    s.close()


@pytest.fixture
def mo(store):  # noqa: ANN001, ANN201
    context = StubContext()
    context.store = store
    rate_limits.sweep(store, "sms", 0, now=time.time() + 86400)   # the limit is counted in the store: start afresh
    return registry.connectors.get("sms_mo")("sms", {"secret": "s" * 20, "allow_from": ["127.0.0.1/32"],
                                                     "rate_limit_count": 3, "rate_limit_window": 60}, context)


def ask(mo, info: str, user: str = "0905123456", token: str = "s" * 20, addr: str = "127.0.0.1", **extra):  # noqa: ANN001, ANN201
    body = urlencode({"userId": user, "serviceNumber": "8188", "commandCode": "DVC", "info": info, **extra}).encode()
    request = InboundRequest("POST", "/v1/inbound/sms", {"X-Gateway-Token": token,
                                                          "Content-Type": "application/x-www-form-urlencoded"},
                             {}, body, remote_addr=addr)
    messages, response = mo.inbound(request)
    return messages, response.status, response.body.decode("ascii")


def test_mo_answers_the_latest_status_unaccented(mo):  # noqa: ANN001
    messages, status, body = ask(mo, "DVC 000.00.14.H20-231120-0001")
    assert status == 200 and body == "0;71;Ho so 000.00.14.H20-231120-0001: Dang xu ly (cap nhat 08:15 20/11/2023)."
    assert messages[0].type == "sms.received" and messages[0].payload["phone"] == "84905123456"
    assert messages[0].payload["dossier_code"] == "000.00.14.H20-231120-0001"
    _, _, body = ask(mo, "  dvc   000.00.14.h20-231120-0002 ", user="84912345678")   # lower case, spaces
    assert body.startswith("0;71;Ho so 000.00.14.H20-231120-0002: Da co ket qua")


@pytest.mark.parametrize("info,expect", [
    ("DVC 000.00.14.H20-231120-0999", "0;72;Khong tim thay ho so 000.00.14.H20-231120-0999"),
    ("DVC", "0;72;Sai cu phap. Soan DVC <ma ho so> gui 8188"),
    ("DVC 12345", "0;72;Sai cu phap."),
    ("DVC 000.00.14.H20-231120-0001 thêm", "0;72;Sai cu phap."),
    ("HS 000.00.14.H20-231120-0001", "0;72;Sai cu phap."),
    ("DVC 000.00.14.H20-231331-0001", "0;72;Sai cu phap."),      # impossible date
    ("", "0;72;Sai cu phap."),
])
def test_mo_unknown_and_malformed_get_help(mo, info, expect):  # noqa: ANN001
    _, status, body = ask(mo, info, user="0987000111", commandCode="")
    assert status == 200 and body.startswith(expect) and body.isascii()


def test_mo_rate_limit_per_number(mo):  # noqa: ANN001
    for _ in range(3):
        assert ask(mo, "DVC 000.00.14.H20-231120-0001", user="0977000001")[2].startswith("0;71;")
    messages, _, body = ask(mo, "DVC 000.00.14.H20-231120-0001", user="0977000001")
    assert messages == [] and body.startswith("0;72;Ban da tra cuu qua nhieu lan")
    assert ask(mo, "DVC 000.00.14.H20-231120-0001", user="0977000002")[2].startswith("0;71;")   # others unaffected


def test_mo_refuses_unauthenticated_callers(mo):  # noqa: ANN001
    assert ask(mo, "DVC 000.00.14.H20-231120-0001", token="wrong")[:2] == ([], 401)
    assert ask(mo, "DVC 000.00.14.H20-231120-0001", token="")[:2] == ([], 401)
    assert ask(mo, "DVC 000.00.14.H20-231120-0001", addr="10.1.2.3")[:2] == ([], 401)


def test_mo_wrong_short_code_and_bad_sender(mo):  # noqa: ANN001
    _, _, body = ask(mo, "DVC 000.00.14.H20-231120-0001", user="0966000001", serviceNumber="8088")
    assert body.startswith("0;72;Dau so khong dung")
    messages, _, body = ask(mo, "DVC 000.00.14.H20-231120-0001", user="abc")
    assert messages == [] and body == "0;72;So dien thoai khong hop le."

