"""Families 3 and 4 where the XML comes from a partner: hostile or forged edXML waiting on the exchange axis. The
QLVB connector polls it and must refuse each document with its code, answer the axis "02 refused" once, hand
nothing on to the hub (no message accepted, so nothing reaches a partner) and never read a local file."""
from __future__ import annotations

import json
from typing import Iterator

import pytest
import requests
from lxml import etree

from tests.contract.kit import simulator_server
from tests.contract.test_qlvb import build, document

SENDER, RECEIVER = "000.00.00.G06", "000.00.14.H20"
HEADER = b'<?xml version="1.0" encoding="UTF-8"?>'
XXE = HEADER + b'<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><edXML:edXMLEnvelope ' \
      b'xmlns:edXML="http://www.e-doc.vn/Schema/">&x;</edXML:edXMLEnvelope>'
LAUGHS = HEADER + b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">' \
         b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><l>&c;&c;&c;&c;&c;&c;&c;&c;</l>'
EXTERNAL_DTD = HEADER + b'<!DOCTYPE e SYSTEM "http://127.0.0.1:9/e.dtd"><e/>'
DEEP = b"<a>" * 200 + b"</a>" * 200
XINCLUDE = (b'<e xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd" '
            b'parse="text"/></e>')


@pytest.fixture
def axis() -> Iterator:
    with simulator_server("qlvb") as sim:
        conn = build(sim)
        yield sim, conn
        conn.stop()


def _genuine(sim) -> bytes:
    """A document from another province, correctly signed by the axis's sandbox key."""
    payload = {**document("document-minimal"), "from": {"organ_id": SENDER, "name": "Văn phòng Chính phủ"},
               "to": [{"organ_id": RECEIVER, "name": "Sở Tư pháp tỉnh Đồng Tháp"}]}
    doc_id = requests.post(f"{sim.url}/_inject", json={"payload": payload}, timeout=5).json()["DocId"]
    with sim.app.lock:
        data = sim.app.docs[doc_id]["data"]
        sim.app.inboxes[RECEIVER].remove(doc_id)       # only the forged copy below is on the list
    return data


EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG = "http://www.w3.org/2000/09/xmldsig#"


def _stripped(data: bytes) -> bytes:
    """The same document with its signature element removed."""
    root = etree.fromstring(data)
    signature = root.find(f".//{{{DSIG}}}Signature")
    signature.getparent().remove(signature)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _wrapped(data: bytes) -> bytes:
    """Signature wrapping: a copy of the signed header kept in an unsigned wrapper, the real one forged."""
    root = etree.fromstring(data)
    header = root.find(f"{{{EDXML}}}edXMLHeader")
    wrapper = etree.SubElement(root, f"{{{EDXML}}}Wrapper")
    wrapper.append(etree.fromstring(etree.tostring(header)))
    header.find(f".//{{{EDXML}}}Subject").text = "Quyết định giả mạo"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


CASES = [
    ("external entity", lambda sim: XXE, "signature.malformed"),
    ("entity expansion", lambda sim: LAUGHS, "signature.malformed"),
    ("external DTD", lambda sim: EXTERNAL_DTD, "signature.malformed"),
    ("deep nesting", lambda sim: DEEP, "signature.malformed"),
    ("XInclude, unsigned", lambda sim: XINCLUDE, "signature.missing"),
    ("not XML", lambda sim: b'{"json": true}', "signature.malformed"),
    ("signature stripped", lambda sim: _stripped(_genuine(sim)), "signature.missing"),
    ("changed after signing", lambda sim: _genuine(sim).replace("<edXML:Subject>".encode(),
                                                              "<edXML:Subject>[sửa] ".encode(), 1),
     "signature.invalid"),
    ("signed element wrapped", lambda sim: _wrapped(_genuine(sim)), "signature.wrapping"),
]


@pytest.mark.parametrize("name,make,code", CASES, ids=[c[0] for c in CASES])
def test_hostile_edxml_from_the_axis_is_refused_with_its_code(axis, name, make, code):
    sim, conn = axis
    data = make(sim)
    doc_id = sim.app._queue(data, SENDER, [RECEIVER], "document")
    assert conn.poll() == [], "a refused document must not be handed to the hub"
    assert conn.refused == {doc_id: code}, conn.refused
    assert sim.app.statuses.get(doc_id) == ["02"], "the axis hears 'refused' once"
    assert conn.poll() == [] and sim.app.statuses.get(doc_id) == ["02"]
    stats = json.dumps(requests.get(f"{sim.url}/_stats", timeout=5).json())
    assert "root:" not in stats
