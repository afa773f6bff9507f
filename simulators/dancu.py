"""Resident database simulator (CSDL quốc gia về dân cư): the pinned WSDL spoken over SOAP 1.1, directly or
behind the provincial LGSP wrapper, over a seeded synthetic population (simulators/dancu_people.py).

* ``POST /soap``          SOAP 1.1 (``XacThucThongTinCongDan``, ``TraCuuThongTinCongDan``); requests are parsed
                           safely and validated against schemas/wsdl/dancu/dancu-request.xsd
* ``POST /lgsp/token``    OAuth2 client credentials -> ``{"access_token", "token_type": "Bearer", "expires_in"}``
* ``POST /lgsp/dancu``    the wrapper: Bearer token + ``lgspaccesstoken`` (base64 JSON) + JSON
                           ``{"soapAction", "soapEnvelope"}`` -> ``{"ErrorCode", "ErrorMessage", "Data"}``
* ``POST /_soapfaults``   ``{"mode": "server" | "client" | "malformed" | "004" | "005", "count": n}``
* ``GET /_stats``         requests, tokens issued, faults sent

Exact-match semantics, as the national database: the id must exist and every other field given must match
(names upper-cased; a name sent without diacritics matches the marked one, as clients often strip them).
"""
from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from lxml import etree
from werkzeug.wrappers import Request, Response

from hub import registry, xmlsafe
from hub.privacy import normalise_name
from simulators.base import SimulatorApp, json_response
from simulators.dancu_people import Address, Citizen, generate

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://dancuquocgia.bca"
DC = "http://www.mic.gov.vn/dancu/1.0"
SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "wsdl" / "dancu" / "dancu-request.xsd"
OPERATIONS = ("XacThucThongTinCongDan", "TraCuuThongTinCongDan")
DEFAULTS: dict[str, Any] = {
    "seed": 20240101, "population": 10_000,
    "client_id": "lgsp-sandbox", "client_secret": "lgsp-sandbox-secret", "token_ttl": 3600,
    "access_key": "sandbox-access-key", "secret_key": "sandbox-secret-key", "app_name": "LGSP-HUB",
    "partner_code": "000.00.00.H20", "partner_code_cus": "000.00.00.H20",
    "unlicensed_procedures": ["1.999999"], "denied_officers": ["CB-KHONG-QUYEN"],
}
ERRORS = {"004": "Thủ tục hành chính chưa được cấp phép khai thác", "005": "Cán bộ không có quyền khai thác dữ liệu"}


def _parser() -> etree.XMLParser:
    return xmlsafe.parser()


class DanCuSimulator(SimulatorApp):
    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__({**DEFAULTS, **(options or {})})
        self.lock = threading.Lock()
        self._people: list[Citizen] | None = None
        self._by_id: dict[str, Citizen] = {}
        self._by_cmnd: dict[str, Citizen] = {}
        self._schema: etree.XMLSchema | None = None
        self.tokens: dict[str, float] = {}
        self.requests_by_id: dict[str, int] = {}       # MaYeuCau -> requests answered (tests count effects)
        self.stats_counts = {"soap": 0, "wrapper": 0, "tokens": 0, "faults": 0}
        self.soap_fault_mode = "ok"
        self.soap_fault_count: int | None = None
        self.route("POST", "/soap", self.soap)
        self.route("POST", "/lgsp/token", self.token)
        self.route("POST", "/lgsp/dancu", self.wrapper)
        self.route("POST", "/_soapfaults", self.set_soap_faults)
        self.route("GET", "/_stats", self.stats)

    # --- population (built on first use: the simulator host creates every simulator at start) ---------
    @property
    def people(self) -> list[Citizen]:
        with self.lock:
            if self._people is None:
                self._people = generate(int(self.options["population"]), int(self.options["seed"]))
                self._by_id = {c.personal_id: c for c in self._people}
                self._by_cmnd = {c.cmnd: c for c in self._people if c.cmnd}
                self._schema = etree.XMLSchema(etree.parse(str(SCHEMA), _parser()))
            return self._people

    # --- endpoints ------------------------------------------------------------------------------------
    def soap(self, request: Request) -> Response:
        with self.lock:
            self.stats_counts["soap"] += 1
        status, body = self.handle_envelope(request.get_data(), wrapper=False)
        return Response(body, status=status, content_type="text/xml; charset=utf-8")

    def token(self, request: Request) -> Response:
        client_id, client_secret = request.form.get("client_id"), request.form.get("client_secret")
        if request.authorization and request.authorization.type == "basic":
            client_id, client_secret = request.authorization.username, request.authorization.password
        if request.form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        if client_id != self.options["client_id"] or not secrets.compare_digest(
                str(client_secret or ""), str(self.options["client_secret"])):
            return json_response({"error": "invalid_client"}, 401)
        token = secrets.token_urlsafe(24)
        ttl = int(self.options["token_ttl"])
        with self.lock:
            self.tokens[token] = time.monotonic() + ttl
            self.stats_counts["tokens"] += 1
        return json_response({"access_token": token, "token_type": "Bearer", "expires_in": ttl})

    def wrapper(self, request: Request) -> Response:
        with self.lock:
            self.stats_counts["wrapper"] += 1
        auth = request.headers.get("Authorization", "")
        with self.lock:
            expiry = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if expiry is None or expiry < time.monotonic():
            return json_response({"error": "invalid_token", "error_description": "token unknown or expired"}, 401,
                                 {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if not self._access_token_ok(request.headers.get("lgspaccesstoken", "")):
            return json_response({"ErrorCode": "403", "ErrorMessage": "lgspaccesstoken không hợp lệ", "Data": None}, 403)
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("soapEnvelope"), str):
            return json_response({"ErrorCode": "400", "ErrorMessage": "body must be {soapAction, soapEnvelope}",
                                  "Data": None}, 400)
        status, xml = self.handle_envelope(body["soapEnvelope"].encode("utf-8"), wrapper=True)
        if isinstance(xml, tuple):          # a wrapper refusal (004/005): no SOAP answer at all
            code, text = xml
            return json_response({"ErrorCode": code, "ErrorMessage": text, "Data": None})
        return json_response({"ErrorCode": "000" if status == 200 else "500", "ErrorMessage": "",
                              "Data": xml.decode("utf-8")}, 200 if status in (200, 500) else status)

    def set_soap_faults(self, request: Request) -> Response:
        spec = request.get_json(force=True) or {}
        with self.lock:
            self.soap_fault_mode = spec.get("mode", "ok")
            self.soap_fault_count = spec.get("count")
        return json_response({"ok": True})

    def stats(self, request: Request) -> Response:
        with self.lock:
            return json_response({**self.stats_counts, "population": len(self._people or [])})

    # --- the service ----------------------------------------------------------------------------------
    def handle_envelope(self, data: bytes, wrapper: bool) -> tuple[int, Any]:
        self.people                                   # noqa: B018 - make sure the population exists
        fault = self._take_soap_fault()
        if fault == "malformed":
            return 200, b"<html>B\xe1\xba\xa3o tr\xc3\xac</html"
        if fault in ("server", "client"):
            return 500, _fault("soap:" + fault.capitalize(), "Lỗi hệ thống CSDL dân cư (injected)")
        try:
            root = etree.fromstring(data, _parser())
        except etree.XMLSyntaxError:
            return 500, _fault("soap:Client", "Request is not well-formed XML")
        if root.getroottree().docinfo.doctype:
            return 500, _fault("soap:Client", "DTDs are not accepted")
        body = root.find(f"{{{SOAP_ENV}}}Body")
        request = body[0] if body is not None and len(body) else None
        if root.tag != f"{{{SOAP_ENV}}}Envelope" or request is None:
            return 500, _fault("soap:Client", "Not a SOAP 1.1 envelope")
        op = etree.QName(request).localname
        if etree.QName(request).namespace != TNS or op not in OPERATIONS:
            return 500, _fault("soap:Client", f"Unknown operation {op}")
        assert self._schema is not None
        if not self._schema.validate(etree.ElementTree(request)):
            return 500, _fault("soap:Client", "Request does not match the schema: "
                               + str(self._schema.error_log.last_error.message if self._schema.error_log else ""))
        fields = {etree.QName(e).localname: (e.text or "") for e in request}
        with self.lock:
            self.requests_by_id[fields.get("MaYeuCau", "")] = self.requests_by_id.get(fields.get("MaYeuCau", ""), 0) + 1
        code = self._refusal(fields, fault)
        if code and wrapper:
            return 200, (code, ERRORS[code])
        answer = etree.Element(f"{{{TNS}}}{op}Response", nsmap={"tns": TNS, "dc": DC})
        etree.SubElement(answer, f"{{{TNS}}}MaYeuCau").text = fields.get("MaYeuCau", "")
        etree.SubElement(answer, f"{{{TNS}}}MaLoi").text = code or "000"
        etree.SubElement(answer, f"{{{TNS}}}MoTaLoi").text = ERRORS.get(code or "", "Thành công")
        if not code:
            matches = self.match(fields)
            if op == "XacThucThongTinCongDan":
                etree.SubElement(answer, f"{{{TNS}}}TonTai").text = "true" if matches else "false"
            else:
                collection = etree.SubElement(answer, f"{{{DC}}}CongdanCollection")
                for citizen in matches:
                    collection.append(citizen_element(citizen))
        return 200, _envelope(answer)

    def _refusal(self, fields: dict[str, str], fault: str) -> str | None:
        if fault in ("004", "005"):
            return fault
        if fields.get("MaThuTuc") in self.options["unlicensed_procedures"]:
            return "004"
        if fields.get("MaCanBo") in self.options["denied_officers"]:
            return "005"
        return None

    def match(self, fields: dict[str, str]) -> list[Citizen]:
        """Exact match: the id must exist, and every other field given must equal the record's."""
        citizen = None
        if fields.get("SoDinhDanh"):
            citizen = self._by_id.get(fields["SoDinhDanh"])
        elif fields.get("SoCMND"):
            citizen = self._by_cmnd.get(fields["SoCMND"])
        if citizen is None:
            return []
        name = fields.get("HoVaTen")
        if name and name.upper() not in (normalise_name(citizen.full_name), normalise_name(citizen.full_name, "strip")):
            return []
        born = fields.get("NgayThangNamSinh")
        if born and born != citizen.birth.strftime("%Y%m%d"):
            return []
        return [citizen]

    def _take_soap_fault(self) -> str:
        with self.lock:
            if self.soap_fault_mode == "ok":
                return "ok"
            if self.soap_fault_count is not None:
                if self.soap_fault_count <= 0:
                    self.soap_fault_mode = "ok"
                    return "ok"
                self.soap_fault_count -= 1
            self.stats_counts["faults"] += 1
            return self.soap_fault_mode

    def _access_token_ok(self, header: str) -> bool:
        try:
            data = json.loads(base64.b64decode(header, validate=True))
        except (binascii.Error, ValueError):
            return False
        o = self.options
        expected = {"AccessKey": o["access_key"], "SecretKey": o["secret_key"], "AppName": o["app_name"],
                    "PartnerCode": o["partner_code"], "PartnerCodeCus": o["partner_code_cus"]}
        return isinstance(data, dict) and all(secrets.compare_digest(str(data.get(k, "")), str(v))
                                              for k, v in expected.items())


def _sub(parent: etree._Element, tag: str, text: Any) -> etree._Element:
    element = etree.SubElement(parent, f"{{{DC}}}{tag}")
    if text is not None:
        element.text = str(text)
    return element


def _address(parent: etree._Element, tag: str, address: Address) -> None:
    element = _sub(parent, tag, None)
    for name, value in (("MaTinhThanh", address.province), ("MaQuanHuyen", address.district),
                        ("MaPhuongXa", address.commune), ("ChiTiet", address.detail), ("QuocGia", address.country)):
        _sub(element, name, value)


def _person(parent: etree._Element, tag: str, name: str | None) -> None:
    if name:
        element = _sub(parent, tag, None)
        _sub(element, "HoVaTen", name)
        _sub(element, "QuocTich", "VN")


def citizen_element(c: Citizen) -> etree._Element:
    e = etree.Element(f"{{{DC}}}CongDan")
    _sub(e, "SoDinhDanh", c.personal_id)
    if c.cmnd:
        _sub(e, "SoCMND", c.cmnd)
    name = _sub(e, "HoVaTen", None)
    _sub(name, "Ho", c.family)
    _sub(name, "ChuDem", c.middle)
    _sub(name, "Ten", c.given)
    for tag, value in (("GioiTinh", c.gender), ("DanToc", c.ethnicity), ("TonGiao", c.religion),
                       ("TinhTrangHonNhan", c.marital), ("NhomMau", c.blood)):
        _sub(e, tag, value)
    born = _sub(e, "NgayThangNamSinh", None)
    _sub(born, "Nam", c.birth.year)
    _sub(born, "NgayThangNam", c.birth.strftime("%Y%m%d"))
    _sub(e, "QuocTich", "VN")
    for tag, address in (("NoiDangKyKhaiSinh", c.birth_place), ("QueQuan", c.home_town),
                         ("ThuongTru", c.permanent), ("NoiOHienTai", c.current)):
        _address(e, tag, address)
    for tag, person in (("Cha", c.father), ("Me", c.mother), ("VoChong", c.spouse), ("ChuHo", c.household_head)):
        _person(e, tag, person)
    return e


def _envelope(payload: etree._Element) -> bytes:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    etree.SubElement(env, f"{{{SOAP_ENV}}}Body").append(payload)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def _fault(code: str, text: str) -> bytes:
    fault = etree.Element(f"{{{SOAP_ENV}}}Fault", nsmap={"soap": SOAP_ENV})
    etree.SubElement(fault, "faultcode").text = code
    etree.SubElement(fault, "faultstring").text = text
    return _envelope(fault)


registry.simulators.register("dancu")(DanCuSimulator)
