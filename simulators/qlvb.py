"""National document exchange axis simulator (trục liên thông văn bản quốc gia), as the VNPT SDK exposes it.

* ``GET  /getAgenciesList``                        -> ``{"status": "OK", "data": [{"OrganId", "OrganName"}]}``
* ``POST /sendEdoc``     (edXML bytes, header ``from``) -> ``{"status": "OK", "DocId"}``; the signature is checked
  against the sender's certificate (the sandbox agency key) before anything is queued, else ``FAIL`` (400)
* ``GET  /getReceivedEdocList?organId=``           -> ``{"status": "OK", "data": [{"DocId", "From", "Kind"}]}``
* ``GET  /getEdoc?docId=&organId=``                -> the edXML bytes exactly as signed
* ``POST /updateStatus`` (signed status packet, header ``from``, query ``docId``) -> the status is queued in the
  original sender's inbox (status propagation) and the document leaves the receiver's list
* ``POST /_inject``   ``{"payload": <document.send>, "tamper": false}``: another province's agency sends a
  document, signed with the sandbox ``qlvb`` key (``tamper`` changes the subject after signing)
* ``POST /_inject_raw?from=&to=`` the request body queued as is, for ``to`` (tests: forged or hostile edXML
  reaching a running hub exactly as the axis would hand it over)
* ``GET  /_stats``      documents, statuses received per document
"""
from __future__ import annotations

import datetime as dt
import itertools
import threading
from pathlib import Path
from typing import Any

from lxml import etree
from werkzeug.wrappers import Request, Response

from hub import registry
from hub.signing import xmldsig
from hub.signing.errors import SignatureError
from hub.signing.keys import KeyRing
from simulators.base import SimulatorApp, json_response
from transforms import edxml

ROOT = Path(__file__).resolve().parents[1]
AGENCIES = {"000.00.14.H20": "Sở Tư pháp tỉnh Đồng Tháp", "000.00.15.H20": "Sở Nội vụ tỉnh Đồng Tháp",
            "000.00.16.H20": "Sở Tài chính tỉnh Đồng Tháp", "000.00.00.G06": "Văn phòng Chính phủ"}


class QlvbSimulator(SimulatorApp):
    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__({"pki": str(ROOT / "var" / "pki"), **(options or {})})
        self.lock = threading.Lock()
        self._ring: KeyRing | None = None
        self.docs: dict[str, dict[str, Any]] = {}          # DocId -> {data, from, to, kind}
        self.inboxes: dict[str, list[str]] = {}            # OrganId -> DocIds not yet acknowledged
        self.statuses: dict[str, list[str]] = {}           # DocId of a document -> status codes received
        self.refused: list[str] = []                       # why documents were refused (signature codes)
        self._ids = itertools.count(1)
        for method, path, handler in (("GET", "/getAgenciesList", self.agencies), ("POST", "/sendEdoc", self.send_edoc),
                                      ("GET", "/getReceivedEdocList", self.received_list), ("GET", "/getEdoc", self.get_edoc),
                                      ("POST", "/updateStatus", self.update_status), ("POST", "/_inject", self.inject),
                                      ("POST", "/_inject_raw", self.inject_raw),
                                      ("GET", "/_stats", self.stats)):
            self.route(method, path, handler)

    @property
    def ring(self) -> KeyRing:
        if self._ring is None:   # loaded on first use: the simulator host builds every simulator at start
            self._ring = KeyRing.from_config({"sandbox_pki": self.options["pki"], "keys": {"axis": {"sandbox": "qlvb"}},
                                              "trust": {"agency": {"sandbox": "agency"}}})
        return self._ring

    def agencies(self, request: Request) -> Response:
        return json_response({"status": "OK", "data": [{"OrganId": k, "OrganName": v} for k, v in AGENCIES.items()]})

    def _checked(self, data: bytes) -> etree._Element | Response:
        try:
            result = xmldsig.verify(data, "agency", xmldsig.EDXML_SIGNATURE, keyring=self.ring)
        except SignatureError as exc:
            with self.lock:
                self.refused.append(exc.code)
            return json_response({"status": "FAIL", "ErrorCode": exc.code, "ErrorDesc": "Chữ ký số không hợp lệ"}, 400)
        root = result.signed_root
        if edxml.validate(root):
            return json_response({"status": "FAIL", "ErrorCode": "schema", "ErrorDesc": "edXML không hợp lệ"}, 400)
        return root

    def _queue(self, data: bytes, sender: str, receivers: list[str], kind: str, about: str | None = None) -> str:
        with self.lock:
            doc_id = f"EDOC-{next(self._ids):08d}"
            self.docs[doc_id] = {"data": data, "from": sender, "to": receivers, "kind": kind, "about": about}
            for organ in receivers:
                self.inboxes.setdefault(organ, []).append(doc_id)
        return doc_id

    def send_edoc(self, request: Request) -> Response:
        data = request.get_data()
        root = self._checked(data)
        if isinstance(root, Response):
            return root
        ns = {"e": edxml.NS}
        sender = root.findtext("e:edXMLHeader/e:MessageHeader/e:From/e:OrganId", namespaces=ns)
        receivers = [t.findtext("e:OrganId", namespaces=ns) for t in root.findall("e:edXMLHeader/e:MessageHeader/e:To", ns)]
        unknown = [r for r in receivers if r not in AGENCIES]
        if sender != request.headers.get("from") or unknown:
            return json_response({"status": "FAIL", "ErrorDesc": "Đơn vị gửi/nhận không có trong danh mục"}, 400)
        return json_response({"status": "OK", "DocId": self._queue(data, sender, receivers, "document")})

    def received_list(self, request: Request) -> Response:
        organ = request.args.get("organId", "")
        with self.lock:
            items = [{"DocId": d, "From": self.docs[d]["from"], "Kind": self.docs[d]["kind"]}
                     for d in self.inboxes.get(organ, [])]
        return json_response({"status": "OK", "data": items})

    def get_edoc(self, request: Request) -> Response:
        doc = self.docs.get(request.args.get("docId", ""))
        if doc is None or request.args.get("organId") not in doc["to"]:
            return json_response({"status": "FAIL", "ErrorDesc": "Không tìm thấy văn bản"}, 404)
        return Response(doc["data"], content_type="application/xml; charset=utf-8")

    def update_status(self, request: Request) -> Response:
        doc_id, organ = request.args.get("docId", ""), request.headers.get("from", "")
        doc = self.docs.get(doc_id)
        if doc is None or organ not in doc["to"]:
            return json_response({"status": "FAIL", "ErrorDesc": "Không tìm thấy văn bản"}, 404)
        data = request.get_data()
        root = self._checked(data)
        if isinstance(root, Response):
            return root
        code = root.findtext(f"{{{edxml.NS}}}edXMLHeader/{{{edxml.NS}}}Status/{{{edxml.NS}}}StatusCode")
        with self.lock:
            self.statuses.setdefault(doc_id, []).append(code or "")
            if doc_id in self.inboxes.get(organ, []):
                self.inboxes[organ].remove(doc_id)      # acknowledged: it leaves the receiver's list
        if doc["kind"] == "document" and doc["from"] in AGENCIES:
            self._queue(data, organ, [doc["from"]], "status", doc_id)   # propagated to the sender
        return json_response({"status": "OK"})

    def inject(self, request: Request) -> Response:
        spec = request.get_json(force=True)
        root = edxml.build_document(spec["payload"], dt.datetime.now(dt.timezone.utc))
        signed = xmldsig.sign_enveloped(root, "axis", keyring=self.ring, signature_parent=xmldsig.EDXML_SIGNATURE_PARENT)
        data = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
        if spec.get("tamper"):
            data = data.replace("<edXML:Subject>".encode(), "<edXML:Subject>[đã sửa] ".encode(), 1)
        receivers = [t["organ_id"] for t in spec["payload"]["to"]]
        return json_response({"status": "OK", "DocId": self._queue(data, spec["payload"]["from"]["organ_id"], receivers,
                                                                    "document")})

    def inject_raw(self, request: Request) -> Response:
        sender, receiver = request.args.get("from", ""), request.args.get("to", "")
        if receiver not in AGENCIES:
            return json_response({"status": "FAIL", "ErrorDesc": "Đơn vị nhận không có trong danh mục"}, 400)
        return json_response({"status": "OK", "DocId": self._queue(request.get_data(), sender, [receiver], "document")})

    def stats(self, request: Request) -> Response:
        with self.lock:
            return json_response({"documents": len(self.docs), "statuses": self.statuses, "refused": self.refused},)


registry.simulators.register("qlvb")(QlvbSimulator)
