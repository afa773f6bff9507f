"""The QLVB connector against the exchange axis simulator: signed edXML out, verified edXML in, statuses both ways."""
from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from hub import registry
from hub.contracts import Connector, Delivery
from hub.message import Message
from hub.contracts import TransformContext
from hub.signing.service import SigningService
from tests.contract.kit import ConnectorContract, SimServer, StubContext, delivery_for, simulator_server
from transforms import edxml

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "edxml"
OURS = {"000.00.14.H20": "Sở Tư pháp tỉnh Đồng Tháp", "000.00.15.H20": "Sở Nội vụ tỉnh Đồng Tháp",
        "000.00.16.H20": "Sở Tài chính tỉnh Đồng Tháp"}
_service: SigningService | None = None


def signing() -> SigningService:
    global _service
    if _service is None:
        _service = SigningService.from_config({"sandbox_pki": str(ROOT / "var" / "pki"),
                                               "keys": {"agency": {"sandbox": "agency"}},
                                               "trust": {"qlvb": {"sandbox": "qlvb"},
                                                         "agency": {"sandbox": "agency"}}}, ROOT / "config")
    return _service


class SigningContext(StubContext):
    signing = property(lambda self: signing())


def document(case: str = "document-new") -> dict[str, Any]:
    return json.loads((GOLDEN / f"{case}.json").read_text(encoding="utf-8"))["payload"]


def signed_delivery(payload: dict[str, Any], mtype: str = "document.send") -> Delivery:
    d = delivery_for(mtype, payload)
    fn = edxml.to_edxml if mtype == "document.send" else edxml.to_edxml_status
    raw = fn(payload, TransformContext(message=d.message, route="r", connector="qlvb"))
    d.body = signing().sign_xml(raw, "agency", xmldsig_parent())
    return d


def xmldsig_parent() -> str:
    from hub.signing import xmldsig
    return xmldsig.EDXML_SIGNATURE_PARENT


def build(sim: SimServer) -> Connector:
    options = {"url": sim.url, "agencies": OURS, "sender_trust": {k: "agency" for k in OURS}, "poll_interval": 0}
    conn = registry.connectors.get("qlvb")("qlvb", options, SigningContext())
    conn.start()
    return conn


class TestQlvbContract(ConnectorContract):
    connector_type = "qlvb"
    simulator = "qlvb"
    idempotent = False          # the axis takes no idempotency key: each sendEdoc is a new DocId

    def options(self, sim: SimServer) -> dict[str, Any]:
        return {"url": sim.url, "agencies": OURS}

    @pytest.fixture
    def connector(self, sim):  # noqa: ANN001, ANN201
        conn = build(sim)
        yield conn
        conn.stop()

    def test_unreachable_partner_is_transient(self, sim):  # noqa: ANN001
        from hub.errors import TransientError
        conn = build(SimServer("http://127.0.0.1:9/qlvb", "", None))
        with pytest.raises(TransientError):
            conn.send(self.delivery())

    def delivery(self) -> Delivery:
        return signed_delivery(document())

    def effects(self, sim: SimServer, delivery: Delivery) -> int:
        return sum(1 for d in sim.app.docs.values() if d["data"] == delivery.body.data)

    def check_reply(self, reply, delivery) -> None:  # noqa: ANN001
        assert reply.partner_ref.startswith("EDOC-")


@pytest.fixture
def axis() -> Iterator[tuple[SimServer, Connector]]:
    with simulator_server("qlvb") as sim:
        conn = build(sim)
        yield sim, conn
        conn.stop()


def test_signed_edxml_validates_against_the_xsd() -> None:
    from lxml import etree
    data = signed_delivery(document()).body.data
    assert edxml.validate(etree.fromstring(data)) == []


def test_send_then_receiver_polls_and_statuses_reach_the_sender(axis) -> None:  # noqa: ANN001
    sim, conn = axis
    reply = conn.send(signed_delivery(document()))
    items = conn.poll()           # our receiving agencies (15 and 16) find it
    assert [i.type for i in items] == ["document.received", "document.received"]
    received = items[0].payload
    assert received["edoc_id"] == reply.partner_ref and received["subject"] == document()["subject"]
    assert len(received["attachments"]) == 3 and items[0].evidence and "key=qlvb" not in str(items[0].evidence[0])
    from hub.schemas import default_catalog
    assert default_catalog().validate_payload("document.received", received) == []
    conn.acknowledge(items)
    assert sim.app.statuses[reply.partner_ref] == ["01", "01"]
    # the arrivals went back to the sender: its agency (14) now polls two status packets
    statuses = conn.poll()
    assert [(s.type, s.payload.get("status_code")) for s in statuses] == [("document.status", "01")] * 2, [s.payload for s in statuses]


def test_status_sent_as_document_status(axis) -> None:  # noqa: ANN001
    sim, conn = axis
    ref = conn.send(signed_delivery(document())).partner_ref
    status = json.loads((GOLDEN / "status-accepted.json").read_text(encoding="utf-8"))["payload"]
    conn.send(signed_delivery({**status, "edoc_id": ref}, "document.status"))
    assert sim.app.statuses[ref] == ["03"]


def test_inbound_from_another_agency_is_verified(axis) -> None:  # noqa: ANN001
    sim, conn = axis
    payload = {**document("document-minimal"), "from": {"organ_id": "000.00.00.G06", "name": "Văn phòng Chính phủ"},
               "to": [{"organ_id": "000.00.14.H20", "name": "Sở Tư pháp tỉnh Đồng Tháp"}]}
    requests.post(f"{sim.url}/_inject", json={"payload": payload}, timeout=5).raise_for_status()
    [item] = conn.poll()
    assert item.payload["from"]["organ_id"] == "000.00.00.G06" and "format=xmldsig" in str(item.evidence[0])


def test_tampered_document_is_refused_and_never_delivered(axis) -> None:  # noqa: ANN001
    sim, conn = axis
    payload = {**document("document-minimal"), "from": {"organ_id": "000.00.00.G06", "name": "Văn phòng Chính phủ"},
               "to": [{"organ_id": "000.00.14.H20", "name": "Sở Tư pháp tỉnh Đồng Tháp"}]}
    doc_id = requests.post(f"{sim.url}/_inject", json={"payload": payload, "tamper": True}, timeout=5).json()["DocId"]
    assert conn.poll() == []
    assert conn.refused == {doc_id: "signature.invalid"}
    assert sim.app.statuses[doc_id] == ["02"] and conn.poll() == []       # answered once, off the list


def test_axis_refuses_a_document_signed_by_someone_else(axis) -> None:  # noqa: ANN001
    sim, conn = axis
    d = signed_delivery(document())
    from hub.signing.evidence import SignedBody
    d.body = SignedBody(d.body.data.replace("Về việc".encode(), "Vì việc".encode(), 1), d.body.content_type, d.body.evidence)
    from hub.errors import PermanentError
    with pytest.raises(PermanentError):
        conn.send(d)
    assert sim.app.refused == ["signature.invalid"] and sim.app.docs == {}


def test_unsigned_body_is_refused_before_sending(axis) -> None:  # noqa: ANN001
    sim, conn = axis
    from hub.errors import PermanentError
    with pytest.raises(PermanentError) as info:
        conn.send(delivery_for("document.send", document()))
    assert info.value.code == "delivery.sign_failed" and sim.app.docs == {}


def test_the_axis_is_pulled_every_poll_interval_unless_a_backlog_waits(axis) -> None:  # noqa: ANN001
    sim, _ = axis
    conn = registry.connectors.get("qlvb")("qlvb", {"url": sim.url, "agencies": OURS, "poll_interval": 60,
                                                   "max_per_poll": 1, "sender_trust": {k: "agency" for k in OURS}},
                                           SigningContext())
    conn.start()
    conn.send(signed_delivery(document()))            # one document for 15 and 16: one each, within the limit
    assert len(conn.poll()) == 2
    conn.send(signed_delivery(document()))
    assert conn.poll() == []                          # not due for another minute
    conn._next_poll = 0.0
    conn.send(signed_delivery(document()))            # now 2 wait in each inbox: more than max_per_poll
    first = conn.poll()
    assert [i.type for i in first] == ["document.received"] * 2
    conn.acknowledge(first)
    later = [i.type for i in conn.poll()]             # the backlog is pulled at the next tick, not a minute later
    assert later.count("document.received") == 2
    conn.stop()
