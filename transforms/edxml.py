"""edXML (QCVN 102:2016/BTTTT, partners.md §7) <-> canonical ``document.send`` / ``document.received`` /
``document.status``. Pure functions, no I/O: the connector signs, sends, fetches and verifies.

Outbound ``edxml`` builds the unsigned envelope (the route's ``sign`` step puts the XML-DSig signature as the
last child of ``edXMLHeader``); ``edxml_status`` builds a status packet. Inbound ``parse_document`` and
``parse_status`` read a *verified* tree (``VerifiedXML.signed_root``), never the bytes as received.
Every envelope built here validates against schemas/xsd/edxml/edxml.xsd (``validate``).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
from pathlib import Path
from typing import Any

from lxml import etree

from hub import errors, registry, xmlsafe
from hub.contracts import TransformContext
from hub.errors import PermanentError

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
XLINK = "http://www.w3.org/1999/xlink"
NSMAP = {"edXML": NS, "xlink": XLINK}
XSD = Path(__file__).resolve().parents[1] / "schemas" / "xsd" / "edxml" / "edxml.xsd"
BUSINESS_TYPES = {"new": 0, "revoke": 1, "update": 2, "replace": 3}
VN = dt.timezone(dt.timedelta(hours=7))   # edXML timestamps are local time in Vietnam, without an offset
_ORGAN_FIELDS = (("organ_id", "OrganId"), ("organization_in_charge", "OrganizationInCharge"), ("name", "OrganName"),
                 ("address", "OrganAdd"), ("email", "Email"), ("phone", "Telephone"), ("fax", "Fax"),
                 ("website", "Website"))
_schema: etree.XMLSchema | None = None


def schema() -> etree.XMLSchema:
    global _schema
    if _schema is None:
        _schema = etree.XMLSchema(xmlsafe.parse_file(XSD))
    return _schema


def validate(root: etree._Element) -> list[str]:
    """Problems of ``root`` against the edXML XSD (empty when valid). One schema object per process: the hub's
    green threads never switch inside a validation (no I/O), so its error log is read by the caller that filled it."""
    s = schema()
    return [] if s.validate(root) else [f"line {e.line}: {e.message}" for e in s.error_log][:10]


# --- building -------------------------------------------------------------------------------------------
def _e(parent: etree._Element, tag: str, text: Any = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS}}}{tag}")
    if text is not None:
        element.text = str(text)
    return element


def _opt(parent: etree._Element, tag: str, value: Any) -> None:
    if value is not None and value != "":
        _e(parent, tag, value)


def _date(iso: str) -> str:
    return iso.replace("-", "/")


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(VN).strftime("%Y/%m/%d %H:%M:%S")


def _organ(parent: etree._Element, tag: str, organ: dict[str, Any]) -> None:
    element = _e(parent, tag)
    for field, name in _ORGAN_FIELDS:
        _opt(element, name, organ.get(field))


def _response_for(parent: etree._Element, rf: dict[str, Any]) -> None:
    element = _e(parent, "ResponseFor")
    _e(element, "OrganId", rf["organ_id"])
    _e(element, "Code", rf["code"])
    if rf.get("promulgation_date"):
        _e(element, "PromulgationDate", _date(rf["promulgation_date"]))
    _opt(element, "DocumentId", rf.get("document_id"))


def build_document(p: dict[str, Any], created_at: dt.datetime) -> etree._Element:
    root = etree.Element(f"{{{NS}}}edXMLEnvelope", nsmap=NSMAP)
    header = _e(root, "edXMLHeader")
    mh = _e(header, "MessageHeader")
    _organ(mh, "From", p["from"])
    for to in p["to"]:
        _organ(mh, "To", to)
    code = _e(mh, "Code")
    _e(code, "CodeNumber", p["code"]["number"])
    _e(code, "CodeNotation", p["code"]["notation"])
    promulgation = _e(mh, "PromulgationInfo")
    _opt(promulgation, "Place", p.get("promulgation_place"))
    _e(promulgation, "PromulgationDate", _date(p["promulgation_date"]))
    dtype = _e(mh, "DocumentType")
    _e(dtype, "Type", p["document_type"]["type"])
    _opt(dtype, "TypeName", p["document_type"].get("name"))
    _e(mh, "Subject", p["subject"])
    _opt(mh, "Content", p.get("content"))
    signer = _e(mh, "SignerInfo")
    for field, name in (("competence", "Competence"), ("position", "Position"), ("full_name", "FullName")):
        _opt(signer, name, p["signer"].get(field))
    if p.get("due_date"):
        _e(mh, "DueDate", _date(p["due_date"]))
    if p.get("to_places"):
        places = _e(mh, "ToPlaces")
        for place in p["to_places"]:
            _e(places, "Place", place)
    other = {k: p.get(k) for k in ("priority", "sphere_of_promulgation", "promulgation_amount", "page_amount")}
    if any(v is not None for v in other.values()):
        info = _e(mh, "OtherInfo")
        for field, name in (("priority", "Priority"), ("sphere_of_promulgation", "SphereOfPromulgation"),
                            ("promulgation_amount", "PromulgationAmount"), ("page_amount", "PageAmount")):
            _opt(info, name, other[field])
    for rf in p.get("response_for") or []:
        _response_for(mh, rf)
    _opt(mh, "SteeringType", p.get("steering_type"))
    _e(mh, "DocumentId", p.get("document_id") or
       f"{p['from']['organ_id']},{p['promulgation_date'][:4]},{p['code']['number']}/{p['code']['notation']}")
    traces = _e(header, "TraceHeaderList")
    trace = _e(traces, "TraceHeader")
    _e(trace, "OrganId", p["from"]["organ_id"])
    _e(trace, "Timestamp", _stamp(created_at))
    business = _e(traces, "Bussiness")
    _e(business, "BussinessDocType", BUSINESS_TYPES[p.get("business_doc_type", "new")])
    _opt(business, "BussinessDocReason", p.get("business_reason"))
    _attachments(root, p.get("attachments") or [])
    return root


def _attachments(root: etree._Element, attachments: list[dict[str, Any]]) -> None:
    manifest = _e(_e(root, "edXMLBody"), "edXMLManifest")
    if not attachments:
        return
    encoded = _e(root, "AttachmentEncoded")
    for i, a in enumerate(attachments, 1):
        if "content_base64" not in a:
            raise PermanentError(errors.DLV_TRANSFORM, f"attachment {i}: edXML carries files inline; "
                                 "send content_base64 (files by url are not fetched by a transform)")
        try:
            base64.b64decode(a["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise PermanentError(errors.DLV_TRANSFORM, f"attachment {i}: content_base64 is not base64") from None
        cid = f"att{i}"
        ref = _e(manifest, "Reference")
        ref.set(f"{{{XLINK}}}href", f"cid:{cid}")
        _e(ref, "AttachmentName", a["name"])
        _opt(ref, "Description", a.get("description"))
        att = _e(encoded, "Attachment")
        _e(att, "ContentType", a["content_type"])
        _e(att, "ContentId", cid)
        _opt(att, "Description", a.get("description"))
        _e(att, "ContentTransferEncoded", a["content_base64"])
        _e(att, "AttachmentName", a["name"])


def build_status(p: dict[str, Any]) -> etree._Element:
    root = etree.Element(f"{{{NS}}}edXMLEnvelope", nsmap=NSMAP)
    status = _e(_e(root, "edXMLHeader"), "Status")
    _response_for(status, p["response_for"])
    _organ(status, "From", p["from"])
    _e(status, "StatusCode", p["status_code"])
    _opt(status, "Description", p.get("description"))
    _e(status, "Timestamp", _stamp(dt.datetime.fromisoformat(p["at"])))
    staff = p.get("staff") or {}
    if staff:
        info = _e(status, "StaffInfo")
        for field, name in (("department", "Department"), ("name", "Staff"), ("phone", "Mobile"), ("email", "Email")):
            _opt(info, name, staff.get(field))
    _e(root, "edXMLBody")
    return root


def serialise(root: etree._Element) -> bytes:
    problems = validate(root)
    if problems:   # a bug here, or a payload the schema allows and edXML does not: never send it
        raise PermanentError(errors.DLV_VALIDATE, "edXML envelope invalid: " + "; ".join(problems[:3]))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@registry.transforms.register("edxml")
def to_edxml(payload: dict[str, Any], ctx: TransformContext) -> bytes:
    """``document.send`` -> edXML bytes (unsigned; sign with ``signature_parent: /edXML:edXMLEnvelope/edXML:edXMLHeader``)."""
    return serialise(build_document(payload, ctx.message.created_at))


@registry.transforms.register("edxml_status")
def to_edxml_status(payload: dict[str, Any], ctx: TransformContext) -> bytes:
    """``document.status`` -> an edXML status packet (bytes, unsigned)."""
    return serialise(build_status(payload))


# --- reading (verified trees only) ------------------------------------------------------------------------
def _t(element: etree._Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path, {"e": NS})
    return found.text if found is not None and found.text is not None else None


def _iso_date(value: str | None) -> str | None:
    return value.replace("/", "-") if value else None


def _iso_stamp(value: str) -> str:
    return dt.datetime.strptime(value, "%Y/%m/%d %H:%M:%S").replace(tzinfo=VN).isoformat()


def _read_organ(e: etree._Element) -> dict[str, Any]:
    return {field: _t(e, f"e:{name}") for field, name in _ORGAN_FIELDS if _t(e, f"e:{name}") is not None}


def _read_response_for(e: etree._Element) -> dict[str, Any]:
    out = {"organ_id": _t(e, "e:OrganId"), "code": _t(e, "e:Code"),
           "promulgation_date": _iso_date(_t(e, "e:PromulgationDate")), "document_id": _t(e, "e:DocumentId")}
    return {k: v for k, v in out.items() if v is not None}


def kind(root: etree._Element) -> str:
    """``document`` or ``status``."""
    return "status" if root.find(f"{{{NS}}}edXMLHeader/{{{NS}}}Status") is not None else "document"


def parse_document(root: etree._Element) -> dict[str, Any]:
    """A verified edXML document -> the canonical fields of ``document.received`` (without edoc_id/received_at)."""
    mh = root.find(f"{{{NS}}}edXMLHeader/{{{NS}}}MessageHeader")
    traces = root.find(f"{{{NS}}}edXMLHeader/{{{NS}}}TraceHeaderList")
    assert mh is not None and traces is not None   # guaranteed by the XSD, validated before
    out: dict[str, Any] = {
        "from": _read_organ(mh.find("e:From", {"e": NS})),
        "to": [_read_organ(t) for t in mh.findall("e:To", {"e": NS})],
        "code": {"number": _t(mh, "e:Code/e:CodeNumber"), "notation": _t(mh, "e:Code/e:CodeNotation")},
        "promulgation_place": _t(mh, "e:PromulgationInfo/e:Place"),
        "promulgation_date": _iso_date(_t(mh, "e:PromulgationInfo/e:PromulgationDate")),
        "document_type": {k: v for k, v in (("type", int(_t(mh, "e:DocumentType/e:Type") or 0)),
                                             ("name", _t(mh, "e:DocumentType/e:TypeName"))) if v is not None},
        "subject": _t(mh, "e:Subject"), "content": _t(mh, "e:Content"),
        "signer": {k: v for k, v in (("competence", _t(mh, "e:SignerInfo/e:Competence")),
                                     ("position", _t(mh, "e:SignerInfo/e:Position")),
                                     ("full_name", _t(mh, "e:SignerInfo/e:FullName"))) if v is not None},
        "due_date": _iso_date(_t(mh, "e:DueDate")),
        "to_places": [p.text or "" for p in mh.findall("e:ToPlaces/e:Place", {"e": NS})] or None,
        "priority": int(_t(mh, "e:OtherInfo/e:Priority")) if _t(mh, "e:OtherInfo/e:Priority") else None,
        "sphere_of_promulgation": _t(mh, "e:OtherInfo/e:SphereOfPromulgation"),
        "promulgation_amount": int(v) if (v := _t(mh, "e:OtherInfo/e:PromulgationAmount")) else None,
        "page_amount": int(v) if (v := _t(mh, "e:OtherInfo/e:PageAmount")) else None,
        "response_for": [_read_response_for(r) for r in mh.findall("e:ResponseFor", {"e": NS})] or None,
        "steering_type": int(v) if (v := _t(mh, "e:SteeringType")) else None,
        "document_id": _t(mh, "e:DocumentId"),
        "business_doc_type": {v: k for k, v in BUSINESS_TYPES.items()}[int(_t(traces, "e:Bussiness/e:BussinessDocType") or 0)],
        "business_reason": _t(traces, "e:Bussiness/e:BussinessDocReason"),
        "trace": [{"organ_id": _t(t, "e:OrganId"), "at": _iso_stamp(_t(t, "e:Timestamp") or "")}
                  for t in traces.findall("e:TraceHeader", {"e": NS})],
        "attachments": [{k: v for k, v in (("name", _t(a, "e:AttachmentName")), ("content_type", _t(a, "e:ContentType")),
                                           ("description", _t(a, "e:Description")),
                                           ("content_base64", "".join((_t(a, "e:ContentTransferEncoded") or "").split())))
                         if v is not None}
                        for a in root.findall(f"{{{NS}}}AttachmentEncoded/{{{NS}}}Attachment")] or None,
    }
    return {k: v for k, v in out.items() if v is not None}


def parse_status(root: etree._Element) -> dict[str, Any]:
    """A verified status packet -> the canonical fields of ``document.status``."""
    st = root.find(f"{{{NS}}}edXMLHeader/{{{NS}}}Status")
    assert st is not None
    staff = {k: v for k, v in (("department", _t(st, "e:StaffInfo/e:Department")), ("name", _t(st, "e:StaffInfo/e:Staff")),
                               ("phone", _t(st, "e:StaffInfo/e:Mobile")), ("email", _t(st, "e:StaffInfo/e:Email")))
             if v is not None}
    out = {"response_for": _read_response_for(st.find("e:ResponseFor", {"e": NS})),
           "from": _read_organ(st.find("e:From", {"e": NS})), "status_code": _t(st, "e:StatusCode"),
           "description": _t(st, "e:Description"), "at": _iso_stamp(_t(st, "e:Timestamp") or ""),
           "staff": staff or None}
    return {k: v for k, v in out.items() if v is not None}
