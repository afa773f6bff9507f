"""Viettel SMS brandname sandbox: SOAP 1.1 ``CcApi.wsCpMt`` (schemas/wsdl/viettel_sms/ccapi.wsdl) at ``POST /bulkapi``.

Answers ``wsCpMtResponse/return{message, result}``: ``result 1`` accepted (the SMS is recorded), ``result 0`` refused
with a message: wrong User/Password/CPCode, an unregistered ServiceID (brandname), a ReceiverID that is not a
``84...`` mobile, ContentType "0" with characters outside GSM-7, an empty or over-long Content, or a refusal
injected with ``/_config {"refuse": n}``. A body that is not a wsCpMt envelope gets a SOAP Client fault (HTTP 500).
Every SMS accepted is kept (``GET /_sms``); MO injection and the rest: simulators/_sms.py.
"""
from __future__ import annotations

import os
from xml.sax.saxutils import escape

from lxml import etree
from werkzeug.wrappers import Request, Response

from hub import formats, registry
from hub.text import is_gsm7, sms_segments
from simulators._sms import SmsGatewaySimulator

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://impl.bulkSms.ws/"
USER, CP_CODE, BRANDNAMES = "lgsp-sandbox", "LGSPH20", frozenset({"DONGTHAPDVC", "UBND-DT"})
PASSWORD_ENV, PASSWORD_DEFAULT = "HUB_VIETTEL_SMS_PASSWORD", "sandbox-viettel-sms"
FIELDS = ("User", "Password", "CPCode", "RequestID", "UserID", "ReceiverID", "ServiceID", "CommandCode", "Content",
          "ContentType")
MAX_SEGMENTS = 8


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _envelope(inner: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="{SOAP_ENV}"><S:Body>{inner}'
            f"</S:Body></S:Envelope>")


def _result(code: int, message: str) -> Response:
    body = _envelope(f'<ns2:wsCpMtResponse xmlns:ns2="{TNS}"><return><message>{escape(message)}</message>'
                     f"<result>{code}</result></return></ns2:wsCpMtResponse>")
    return Response(body, content_type="text/xml; charset=utf-8")


def _fault(text: str) -> Response:
    body = _envelope(f"<S:Fault><faultcode>S:Client</faultcode><faultstring>{escape(text)}</faultstring></S:Fault>")
    return Response(body, status=500, content_type="text/xml; charset=utf-8")


class ViettelSmsSimulator(SmsGatewaySimulator):
    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.password = os.environ.get(PASSWORD_ENV, PASSWORD_DEFAULT)
        self.route("POST", "/bulkapi", self.ws_cp_mt)

    def ws_cp_mt(self, request: Request) -> Response:
        try:
            root = etree.fromstring(request.get_data(), _parser())
        except etree.XMLSyntaxError:
            return _fault("Unmarshalling Error: not XML")
        call = root.find(f"{{{SOAP_ENV}}}Body/{{{TNS}}}wsCpMt")
        if call is None:
            return _fault("Cannot find dispatch method for the request")
        f = {name: (call.findtext(name) or "") for name in FIELDS}
        refusal = self._check(f)
        if refusal is None:
            injected = self.injected_refusal()
            refusal = f"Injected refusal {injected}" if injected is not None else None
        if refusal is not None:
            self.refuse("0", refusal, request_id=f["RequestID"])
            return _result(0, refusal)
        encoding, segments = sms_segments(f["Content"])
        self.record(request_id=f["RequestID"], receiver=f["ReceiverID"], brandname=f["ServiceID"],
                    content=f["Content"], content_type=f["ContentType"], encoding=encoding, segments=segments)
        return _result(1, "Success")

    def _check(self, f: dict[str, str]) -> str | None:
        if (f["User"], f["Password"], f["CPCode"]) != (USER, self.password, CP_CODE):
            return "Authenticate: User, Password or CPCode is wrong"
        if f["ServiceID"] not in BRANDNAMES:
            return f"ServiceID {f['ServiceID'][:20]} is not registered for this CP"
        if not f["ReceiverID"].startswith("84") or not formats.is_mobile_vn(f["ReceiverID"]):
            return "ReceiverID is not a valid mobile number (84...)"
        if f["ContentType"] not in ("0", "1"):
            return "ContentType must be 0 or 1"
        if not f["Content"]:
            return "Content is empty"
        if f["ContentType"] == "0" and not is_gsm7(f["Content"]):
            return "Content has unicode characters with ContentType 0"
        if sms_segments(f["Content"])[1] > MAX_SEGMENTS:
            return "Content is too long"
        return None


registry.simulators.register("viettel_sms")(ViettelSmsSimulator)
