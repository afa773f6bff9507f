"""National resident database (CSDL quốc gia về dân cư): identity checks and lookups over SOAP with zeep.

Call types: ``citizen.verify`` -> ``XacThucThongTinCongDan`` (answer ``{"match": bool}``) and
``citizen.lookup`` -> ``TraCuuThongTinCongDan`` (answer ``{"found", "citizens": [...]}``). The WSDL and XSDs are
pinned in schemas/wsdl/dancu/ and never fetched. Two modes (``mode``):

* ``direct``: SOAP 1.1 POSTed to ``url`` + ``soap_path``;
* ``lgsp``: through the provincial LGSP wrapper: an OAuth2 client-credentials token (cached until shortly
  before it expires), the ``lgspaccesstoken`` header (base64 JSON of the wrapper keys) and the SOAP envelope
  inside a JSON body; the wrapper answers ``{"ErrorCode", "ErrorMessage", "Data": "<soap answer>"}``.

Before anything is sent: the purpose (officer, procedure, dossier) must be given (Decree 13/2023), the id must
be a valid personal id or CMND consistent with the birth date, the name is normalised as the partner matches it,
and the lookup is written to the access log (no record, no lookup). Nothing this module logs or raises carries
the id or the name: only masks (hub.privacy).
"""
from __future__ import annotations

import base64
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import requests
from lxml import etree
from zeep import Client, Settings
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault, XMLSyntaxError
from zeep.transports import Transport

from connectors.rest import partner_session, raise_for_http_status
from hub import errors, formats, registry
from hub.contracts import Connector, Delivery, Health, Reply
from hub.errors import PermanentError, TransientError
from hub.privacy import mask_id, normalise_name
from hub.store.tables_access_log import AccessLog

# zeep logs whole envelopes at DEBUG on these loggers: they carry ids and names, so they never log below INFO.
for _name in ("zeep.transports", "zeep.wsdl.bindings.soap", "zeep.xsd"):
    logging.getLogger(_name).setLevel(logging.INFO)

log = logging.getLogger("hub.connectors.dancu")
WSDL = Path(__file__).resolve().parents[1] / "schemas" / "wsdl" / "dancu" / "dancu.wsdl"
BINDING = "{http://dancuquocgia.bca}DanCuBinding"
OPERATIONS = {"citizen.verify": "XacThucThongTinCongDan", "citizen.lookup": "TraCuuThongTinCongDan"}
PARTNER_REFUSALS = {"004": errors.ID_PROCEDURE_NOT_LICENSED, "005": errors.ID_OFFICER_NOT_PERMITTED}
GENDERS = {0: "unknown", 1: "male", 2: "female"}
TOKEN_MARGIN = 30.0   # seconds: renew the wrapper token this long before it expires


def safe_settings() -> Settings:
    """No DTDs, entities or external resources in anything zeep parses; no huge trees; strict schema."""
    return Settings(strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True)


@registry.connectors.register("dancu")
class DanCuConnector(Connector):
    type_name = "dancu"
    capabilities = frozenset({"call"})
    config_schema = {
        "type": "object", "required": ["url"], "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "pattern": "^https?://"},
            "mode": {"enum": ["direct", "lgsp"]},
            "soap_path": {"type": "string"},
            "service_code": {"type": "string", "description": "MaDichVu granted to the province"},
            "name_diacritics": {"enum": ["keep", "strip"]},
            "connect_timeout": {"type": "number", "minimum": 0.1},
            "read_timeout": {"type": "number", "minimum": 0.1},
            "operation_timeout": {"type": "number", "minimum": 0.1},
            "token_path": {"type": "string"}, "wrapper_path": {"type": "string"},
            "client_id": {"type": "string"}, "client_secret": {"type": "string"},
            "access_key": {"type": "string"}, "secret_key": {"type": "string"}, "app_name": {"type": "string"},
            "partner_code": {"type": "string"}, "partner_code_cus": {"type": "string"},
        },
    }

    def __init__(self, name: str, options: dict[str, Any], context: Any) -> None:
        super().__init__(name, options, context)
        self.session: requests.Session | None = None
        self.client: Client | None = None
        self.service: Any = None
        self.access_log: AccessLog | None = None
        self._token: tuple[str, float] | None = None
        self._token_lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        self.session = partner_session(self.concurrency)
        o = self.options
        timeout = float(o.get("read_timeout", 20))
        transport = Transport(session=self.session, timeout=timeout,
                              operation_timeout=float(o.get("operation_timeout", timeout)))
        self.client = Client(str(WSDL), transport=transport, settings=safe_settings())
        self.service = self.client.create_service(BINDING, self._url(o.get("soap_path", "/soap")))
        store = getattr(self.context, "store", None)
        self.access_log = AccessLog(store.engine) if store is not None else None

    def stop(self) -> None:
        if self.session is not None:
            self.session.close()

    def _url(self, path: str) -> str:
        return str(self.options["url"]).rstrip("/") + path

    # --- one call -------------------------------------------------------------------------------------
    def send(self, delivery: Delivery) -> Reply:
        if self.client is None:
            self.start()
        mtype = delivery.message.type
        operation = OPERATIONS.get(mtype)
        if operation is None:
            raise PermanentError(errors.DLV_PARTNER_4XX, f"{self.name}: {mtype} is not a resident database call")
        payload = delivery.message.payload
        fields, citizen_id = self.request_fields(payload, delivery, lookup=mtype == "citizen.lookup")
        entry = self._record(delivery, citizen_id, "verify" if mtype == "citizen.verify" else "lookup")
        try:
            answer = self._call(operation, fields)
            reply = self._reply(mtype, answer)
        except PermanentError as exc:
            self._outcome(entry, exc.code)
            raise
        except TransientError as exc:
            self._outcome(entry, exc.code)
            raise
        result = reply.payload or {}
        self._outcome(entry, ("match" if result.get("match") else "no_match") if mtype == "citizen.verify"
                      else ("found" if result.get("found") else "not_found"))
        return reply

    def request_fields(self, payload: dict[str, Any], delivery: Delivery, lookup: bool) -> tuple[dict[str, Any], str]:
        """The SOAP request's fields, after every check the hub makes before calling (raises PermanentError)."""
        missing = [f for f in ("officer_id", "procedure_code", "dossier_code") if not str(payload.get(f) or "").strip()]
        if missing:
            raise PermanentError(errors.ID_PURPOSE_MISSING, f"missing {', '.join(missing)}")
        personal_id, cmnd = payload.get("personal_id"), payload.get("cmnd")
        if bool(personal_id) == bool(cmnd):
            raise PermanentError(errors.ID_INVALID, "give exactly one of personal_id and cmnd")
        if personal_id and not formats.is_personal_id(str(personal_id)):
            raise PermanentError(errors.ID_INVALID, f"personal id {mask_id(str(personal_id))} is not a valid 12-digit id")
        if cmnd and not formats.is_cmnd(str(cmnd)):
            raise PermanentError(errors.ID_INVALID, f"CMND {mask_id(str(cmnd))} is not 9 digits")
        birth = payload.get("birth_date")
        if birth is not None or not lookup:
            if not isinstance(birth, str) or not formats.is_date(birth):
                raise PermanentError(errors.ID_BAD_BIRTH_DATE, "birth_date must be YYYY-MM-DD")
            if personal_id and not formats.personal_id_consistent_with_birth(personal_id, birth):
                raise PermanentError(errors.ID_BIRTH_MISMATCH,
                                     f"personal id {mask_id(personal_id)}: century/gender digit or year differs from the birth date")
        name = payload.get("full_name")
        if name is not None or not lookup:
            normalised = normalise_name(str(name or ""), self.options.get("name_diacritics", "keep"))
            if not normalised or not all(c.isalpha() or c in " '-" for c in normalised):
                raise PermanentError(errors.ID_BAD_NAME, "full_name must be letters and spaces")
            name = normalised
        fields = {"MaYeuCau": delivery.message.id[:64], "MaDichVu": self.options.get("service_code", "DANCU-XACTHUC"),
                  "MaCanBo": payload["officer_id"], "MaThuTuc": payload["procedure_code"],
                  "MaHoSo": payload["dossier_code"], "SoDinhDanh": personal_id or None, "SoCMND": cmnd or None,
                  "HoVaTen": name, "NgayThangNamSinh": birth.replace("-", "") if birth else None}
        return {k: v for k, v in fields.items() if v is not None}, str(personal_id or cmnd)

    # --- the access log: written before the partner is called --------------------------------------------
    def _record(self, delivery: Delivery, citizen_id: str, operation: str) -> int:
        if self.access_log is None:
            raise PermanentError(errors.ID_PURPOSE_MISSING,
                                 f"{self.name}: no access log on this hub; lookups are refused without one")
        p = delivery.message.payload
        try:
            return self.access_log.record(citizen_id=citizen_id, operation=operation, client=delivery.message.source,
                                          officer_id=p["officer_id"], procedure_code=p["procedure_code"],
                                          dossier_code=p["dossier_code"], message_id=delivery.message.id,
                                          connector=self.name)
        except Exception as exc:  # noqa: BLE001 - any store failure: no record, no lookup (retried later)
            raise TransientError(errors.STORE_UNAVAILABLE, f"{self.name}: access log not written ({type(exc).__name__})") from exc

    def _outcome(self, entry: int, outcome: str) -> None:
        try:
            self.access_log.outcome(entry, outcome)   # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - the request itself is recorded; a missing outcome is logged, not fatal
            log.warning("%s: outcome of access log entry %s not recorded", self.name, entry)

    # --- SOAP -----------------------------------------------------------------------------------------------
    def _call(self, operation: str, fields: dict[str, Any]) -> Any:
        """zeep builds the envelope and reads the answer; the bytes travel directly or inside the wrapper."""
        assert self.client is not None
        envelope = self.client.create_message(self.service, operation, **fields)
        if self.options.get("mode", "direct") == "lgsp":
            content = self._through_wrapper(operation, envelope)
        else:
            headers = {"SOAPAction": f'"http://dancuquocgia.bca/{operation}"', "Content-Type": "text/xml; charset=utf-8"}
            response = self._guarded(lambda: self.client.transport.post_xml(  # type: ignore[union-attr]
                self.service._binding_options["address"], envelope, headers))
            self._http_error(response)
            content = response.content
        binding = self.service._binding
        try:
            return binding.process_reply(self.client, binding.get(operation), _Answer(content))
        except Fault as exc:
            raise PermanentError(errors.ID_PARTNER_FAULT,
                                 f"{self.name}: SOAP fault {exc.code}: {str(exc.message)[:200]}") from None
        except (XMLSyntaxError, ZeepError, etree.XMLSyntaxError, ValueError) as exc:
            raise PermanentError(errors.DLV_BAD_REPLY,
                                 f"{self.name}: answer cannot be read ({type(exc).__name__})") from None

    def _through_wrapper(self, operation: str, envelope: etree._Element) -> bytes:
        body = {"soapAction": f"http://dancuquocgia.bca/{operation}",
                "soapEnvelope": etree.tostring(envelope, encoding="unicode")}
        headers = {"Authorization": f"Bearer {self._bearer()}", "lgspaccesstoken": self._access_token(),
                   "Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        response = self._guarded(lambda: self.session.post(  # type: ignore[union-attr]
            self._url(self.options.get("wrapper_path", "/lgsp/dancu")), data=data, headers=headers,
            timeout=self._timeouts()))
        if response.status_code == 401:
            with self._token_lock:
                self._token = None       # expired or revoked: the next attempt fetches a new one
            raise TransientError(errors.DLV_PARTNER_5XX, f"{self.name}: the wrapper refused the token (401)")
        self._http_error(response)
        try:
            answer = response.json()
        except ValueError:
            raise PermanentError(errors.DLV_BAD_REPLY, f"{self.name}: wrapper answer is not JSON") from None
        if not isinstance(answer, dict):
            raise PermanentError(errors.DLV_BAD_REPLY, f"{self.name}: wrapper answer is not an object")
        code = str(answer.get("ErrorCode") or "000")
        if code in PARTNER_REFUSALS:
            raise PermanentError(PARTNER_REFUSALS[code], f"{self.name}: wrapper error {code}")
        if not isinstance(answer.get("Data"), str):
            raise PermanentError(errors.ID_PARTNER_ERROR, f"{self.name}: wrapper error {code[:10]} without data")
        return answer["Data"].encode("utf-8")

    def _timeouts(self) -> tuple[float, float]:
        return float(self.options.get("connect_timeout", 3)), float(self.options.get("read_timeout", 20))

    def _guarded(self, post: Any) -> requests.Response:
        try:
            return post()
        except requests.Timeout as exc:
            raise TransientError(errors.DLV_TIMEOUT, f"{self.name}: {type(exc).__name__}") from None
        except requests.RequestException as exc:
            raise TransientError(errors.DLV_NETWORK, f"{self.name}: {type(exc).__name__}") from None

    def _http_error(self, response: requests.Response) -> None:
        if response.status_code == 500 and b"Fault" in response.content[:2000]:
            return                      # a SOAP fault travels as HTTP 500: zeep reads it and maps it
        raise_for_http_status(self.name, response, excerpt=False)  # no body excerpt: it may hold personal data

    # --- the wrapper's credentials ---------------------------------------------------------------------------
    def _bearer(self) -> str:
        with self._token_lock:
            if self._token and self._token[1] > time.monotonic():
                return self._token[0]
        o = self.options
        form = {"grant_type": "client_credentials", "client_id": o.get("client_id", ""),
                "client_secret": o.get("client_secret", "")}
        response = self._guarded(lambda: self.session.post(  # type: ignore[union-attr]
            self._url(o.get("token_path", "/lgsp/token")), data=form, headers={"Accept": "application/json"},
            timeout=self._timeouts()))
        if response.status_code in (401, 403):
            raise PermanentError(errors.ID_TOKEN_REFUSED, f"{self.name}: token endpoint answered {response.status_code}")
        self._http_error(response)
        try:
            data = response.json()
            token, ttl = str(data["access_token"]), float(data.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise PermanentError(errors.DLV_BAD_REPLY, f"{self.name}: token answer cannot be read") from None
        with self._token_lock:
            self._token = (token, time.monotonic() + max(ttl - TOKEN_MARGIN, 1.0))
        return token

    def _access_token(self) -> str:
        o = self.options
        keys = {"AccessKey": o.get("access_key", ""), "SecretKey": o.get("secret_key", ""),
                "AppName": o.get("app_name", ""), "PartnerCode": o.get("partner_code", ""),
                "PartnerCodeCus": o.get("partner_code_cus", "")}
        return base64.b64encode(json.dumps(keys, ensure_ascii=False).encode("utf-8")).decode("ascii")

    # --- the answer -------------------------------------------------------------------------------------------
    def _reply(self, mtype: str, answer: Any) -> Reply:
        code = str(getattr(answer, "MaLoi", None) or "000")
        if code in PARTNER_REFUSALS:
            raise PermanentError(PARTNER_REFUSALS[code], f"{self.name}: partner error {code}")
        if code != "000":
            raise PermanentError(errors.ID_PARTNER_ERROR, f"{self.name}: partner error {code[:10]}")
        if mtype == "citizen.verify":
            exists = getattr(answer, "TonTai", None)
            if exists is None:
                raise PermanentError(errors.DLV_BAD_REPLY, f"{self.name}: answer without TonTai")
            return Reply(status=200, payload={"match": bool(exists)})
        collection = getattr(answer, "CongdanCollection", None)
        people = list(getattr(collection, "CongDan", None) or []) if collection is not None else []
        return Reply(status=200, payload={"found": bool(people), "citizens": [citizen_record(p) for p in people[:10]]})

    def check(self) -> Health:
        return Health("unknown", "the resident database offers no probe that reads no personal data")


class _Answer:
    """What zeep's binding reads from an HTTP response, for a SOAP answer that came inside the wrapper's JSON."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.status_code = 200
        self.headers = {"Content-Type": "text/xml; charset=utf-8"}
        self.encoding = "utf-8"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _address(a: Any) -> dict[str, Any] | None:
    if a is None:
        return None
    out = {"province_code": _text(a.MaTinhThanh), "district_code": _text(a.MaQuanHuyen),
           "commune_code": _text(a.MaPhuongXa), "detail": _text(a.ChiTiet), "country": _text(a.QuocGia)}
    return {k: v for k, v in out.items() if v is not None}


def _person(p: Any) -> dict[str, Any] | None:
    if p is None:
        return None
    out = {"full_name": _text(p.HoVaTen), "personal_id": _text(p.SoDinhDanh), "cmnd": _text(p.SoCMND),
           "nationality": _text(p.QuocTich)}
    return {k: v for k, v in out.items() if v is not None}


def citizen_record(c: Any) -> dict[str, Any]:
    """CongDan -> the canonical citizen record of citizen.lookup's reply (English field names)."""
    born = c.NgayThangNamSinh
    date = _text(born.NgayThangNam) if born is not None else None
    record: dict[str, Any] = {
        "personal_id": _text(c.SoDinhDanh), "cmnd": _text(c.SoCMND),
        "name": {k: v for k, v in (("family", _text(c.HoVaTen.Ho)), ("middle", _text(c.HoVaTen.ChuDem)),
                                   ("given", _text(c.HoVaTen.Ten))) if v is not None},
        "gender": GENDERS.get(c.GioiTinh) if c.GioiTinh is not None else None,
        "ethnicity": _text(c.DanToc), "religion": _text(c.TonGiao), "marital_status": _text(c.TinhTrangHonNhan),
        "blood_type": _text(c.NhomMau), "birth_year": born.Nam if born is not None else None,
        "birth_date": f"{date[:4]}-{date[4:6]}-{date[6:8]}" if date and len(date) == 8 else None,
        "nationality": _text(c.QuocTich), "birth_registration_place": _address(c.NoiDangKyKhaiSinh),
        "home_town": _address(c.QueQuan), "permanent_address": _address(c.ThuongTru),
        "current_address": _address(c.NoiOHienTai), "father": _person(c.Cha), "mother": _person(c.Me),
        "spouse": _person(c.VoChong), "household_head": _person(c.ChuHo),
    }
    return {k: v for k, v in record.items() if v is not None}
