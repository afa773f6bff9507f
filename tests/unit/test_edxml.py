"""edXML transform: golden files (canonical JSON -> expected edXML), XSD validation of each, round trips.

Regenerate the expected files after a deliberate change with ``UPDATE_GOLDEN=1 pytest tests/unit/test_edxml.py``
and review the diff.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from lxml import etree

from hub.contracts import TransformContext
from hub.errors import PermanentError
from hub.message import Message
from hub.schemas import default_catalog
from transforms import edxml

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "edxml"
CASES = sorted(p.stem for p in GOLDEN.glob("*.json"))


def _run(case: str) -> tuple[dict, bytes]:
    spec = json.loads((GOLDEN / f"{case}.json").read_text(encoding="utf-8"))
    message = Message(id=f"golden-{case}", type=spec["type"], source="demo", payload=spec["payload"],
                      created_at=dt.datetime.fromisoformat(spec["created_at"]))
    fn = edxml.to_edxml if spec["type"] == "document.send" else edxml.to_edxml_status
    return spec, fn(spec["payload"], TransformContext(message=message, route="golden", connector="qlvb"))


def test_cases_cover_every_business_doc_type() -> None:
    types = {json.loads((GOLDEN / f"{c}.json").read_text(encoding="utf-8"))["payload"].get("business_doc_type", "new")
             for c in CASES if c.startswith("document-")}
    assert types == {"new", "revoke", "update", "replace"} and "status-accepted" in CASES


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    spec, produced = _run(case)
    assert default_catalog().validate_payload(spec["type"], spec["payload"]) == []
    expected = GOLDEN / f"{case}.xml"
    if os.environ.get("UPDATE_GOLDEN") or not expected.exists():
        expected.write_bytes(produced)
    assert produced == expected.read_bytes()
    assert "Đồng Tháp".encode() in produced and b"&#" not in produced   # diacritics travel as UTF-8, not entities


@pytest.mark.parametrize("case", CASES)
def test_golden_file_validates_against_the_xsd(case: str) -> None:
    root = etree.fromstring((GOLDEN / f"{case}.xml").read_bytes())
    assert edxml.validate(root) == []


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("document-")])
def test_document_round_trip(case: str) -> None:
    spec, produced = _run(case)
    parsed = edxml.parse_document(etree.fromstring(produced))
    sent = spec["payload"]
    for key in ("from", "to", "code", "subject", "signer", "promulgation_date", "document_type"):
        assert parsed[key] == sent[key], key
    assert parsed["business_doc_type"] == sent.get("business_doc_type", "new")
    assert [(a["name"], a["content_base64"]) for a in parsed.get("attachments", [])] == \
           [(a["name"], a["content_base64"]) for a in sent.get("attachments", [])]
    received = {**parsed, "edoc_id": "E1", "received_at": "2023-11-20T10:00:00+07:00"}
    received.pop("dossier_code", None)
    assert default_catalog().validate_payload("document.received", received) == []


def test_status_round_trip() -> None:
    spec, produced = _run("status-accepted")
    parsed = edxml.parse_status(etree.fromstring(produced))
    assert parsed["status_code"] == "03" and parsed["response_for"] == spec["payload"]["response_for"]
    assert dt.datetime.fromisoformat(parsed["at"]) == dt.datetime.fromisoformat(spec["payload"]["at"])
    assert default_catalog().validate_payload("document.status", parsed) == []


def test_file_by_url_is_refused_with_a_code() -> None:
    spec = json.loads((GOLDEN / "document-new.json").read_text(encoding="utf-8"))
    spec["payload"]["attachments"] = [{"name": "a.pdf", "content_type": "application/pdf", "url": "https://x.invalid/a"}]
    message = Message(id="m", type="document.send", source="demo", payload=spec["payload"])
    with pytest.raises(PermanentError) as info:
        edxml.to_edxml(spec["payload"], TransformContext(message=message, route="r", connector="qlvb"))
    assert info.value.code == "delivery.transform_failed"


def test_xsd_refuses_a_broken_envelope() -> None:
    root = etree.fromstring((GOLDEN / "document-new.xml").read_bytes())
    header = root.find(f"{{{edxml.NS}}}edXMLHeader/{{{edxml.NS}}}MessageHeader")
    header.remove(header.find(f"{{{edxml.NS}}}Subject"))
    assert edxml.validate(root)
