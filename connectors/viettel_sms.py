"""Viettel SMS brandname (partners.md §6): SOAP service ``CcApi``, operation ``wsCpMt``, over zeep.

The WSDL is pinned in schemas/wsdl/viettel_sms/ and never fetched; zeep parses with DTDs, entities and external
resources forbidden, strict schema, no huge trees; every call is bounded (Transport timeout and
operation_timeout); zeep's DEBUG envelope logging is off (the envelope carries the citizen's number and text).

``sms.send`` (or a dossier status on a route with a ``template``) -> ``wsCpMt(User, Password, CPCode, RequestID,
UserID, ReceiverID=84..., ServiceID=brandname, CommandCode="bulksms", Content, ContentType "0" unaccented | "1"
with diacritics)`` -> ``{result: 1 ok | 0 failed, message}``. The text is prepared by connectors/_sms.py; the
reply records the number of SMS parts. A SOAP fault or ``result 0`` is a refusal (``sms.refused``, permanent).
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import requests
from lxml import etree
from zeep import Client
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault, XMLSyntaxError
from zeep.transports import Transport

from connectors import _sms
from connectors.dancu import _Answer, safe_settings
from connectors.rest import partner_session, raise_for_http_status
from hub import errors, registry
from hub.contracts import Connector, Delivery, Health, Reply
from hub.errors import PermanentError, TransientError

for _name in ("zeep.transports", "zeep.wsdl.bindings.soap", "zeep.xsd"):   # envelopes hold numbers and texts
    logging.getLogger(_name).setLevel(logging.INFO)

WSDL = Path(__file__).resolve().parents[1] / "schemas" / "wsdl" / "viettel_sms" / "ccapi.wsdl"
BINDING = "{http://impl.bulkSms.ws/}CcApiPortBinding"


@registry.connectors.register("viettel_sms")
class ViettelSmsConnector(Connector):
    type_name = "viettel_sms"
    capabilities = frozenset({"send"})
    config_schema = {
        "type": "object", "additionalProperties": False,
        "required": ["url", "user", "password", "cp_code", "brandname"],
        "properties": {
            "url": {"type": "string", "pattern": "^https?://"},
            "soap_path": {"type": "string", "description": "path of the CcApi endpoint (default /bulkapi)"},
            "user": {"type": "string"}, "password": {"type": "string", "description": "(${env:...})"},
            "cp_code": {"type": "string", "description": "CPCode Viettel gave the province"},
            "command_code": {"type": "string", "description": "CommandCode (default bulksms)"},
            "connect_timeout": {"type": "number", "minimum": 0.1},
            "read_timeout": {"type": "number", "minimum": 0.1},
            "operation_timeout": {"type": "number", "minimum": 0.1},
            **_sms.COMMON_OPTIONS,
        },
    }

    def __init__(self, name: str, options: dict[str, Any], context: Any) -> None:
        super().__init__(name, options, context)
        self.session: requests.Session | None = None
        self.client: Client | None = None
        self.service: Any = None

    def start(self) -> None:
        self.session = partner_session(self.concurrency)
        read = float(self.options.get("read_timeout", 10))
        transport = Transport(session=self.session, timeout=read,
                              operation_timeout=float(self.options.get("operation_timeout", read)))
        self.client = Client(str(WSDL), transport=transport, settings=safe_settings())
        address = str(self.options["url"]).rstrip("/") + self.options.get("soap_path", "/bulkapi")
        self.service = self.client.create_service(BINDING, address)

    def stop(self) -> None:
        if self.session is not None:
            self.session.close()

    def send(self, delivery: Delivery) -> Reply:
        if self.client is None:
            self.start()
        sms = _sms.prepare(delivery, self.options)
        # RequestID: stable per delivery, so the gateway's log and ours name the same attempt series
        request_id = hashlib.sha256(delivery.idempotency_key.encode()).hexdigest()[:20]
        fields = {"User": self.options["user"], "Password": self.options["password"], "CPCode": self.options["cp_code"],
                  "RequestID": request_id, "UserID": sms.receiver, "ReceiverID": sms.receiver,
                  "ServiceID": sms.brandname, "CommandCode": self.options.get("command_code", "bulksms"),
                  "Content": sms.text, "ContentType": "1" if sms.unicode else "0"}
        answer = self._call(fields)
        result = getattr(answer, "result", None)
        if result != 1:
            message = str(getattr(answer, "message", "") or "")[:150]
            raise PermanentError(errors.SMS_REFUSED, f"{self.name}: wsCpMt result {result}: {message}")
        return Reply(status=200, partner_ref=request_id, payload=sms.summary())

    def _call(self, fields: dict[str, Any]) -> Any:
        assert self.client is not None and self.session is not None
        envelope = self.client.create_message(self.service, "wsCpMt", **fields)
        headers = {"SOAPAction": '""', "Content-Type": "text/xml; charset=utf-8"}
        try:
            response = self.client.transport.post_xml(self.service._binding_options["address"], envelope, headers)
        except requests.Timeout as exc:
            raise TransientError(errors.DLV_TIMEOUT, f"{self.name}: {type(exc).__name__}") from None
        except requests.RequestException as exc:
            raise TransientError(errors.DLV_NETWORK, f"{self.name}: {type(exc).__name__}") from None
        self._http_error(response)
        binding = self.service._binding
        try:
            return binding.process_reply(self.client, binding.get("wsCpMt"), _Answer(response.content))
        except Fault as exc:
            raise PermanentError(errors.SMS_REFUSED, f"{self.name}: SOAP fault {exc.code}: {str(exc.message)[:150]}") from None
        except (XMLSyntaxError, ZeepError, etree.XMLSyntaxError, ValueError) as exc:
            raise PermanentError(errors.DLV_BAD_REPLY, f"{self.name}: answer cannot be read ({type(exc).__name__})") from None

    def _http_error(self, response: requests.Response) -> None:
        if response.status_code == 500 and b"Fault" in response.content[:2000]:
            return                      # a SOAP fault travels as HTTP 500: zeep reads it and maps it
        raise_for_http_status(self.name, response, excerpt=False)  # no body excerpt: it may hold personal data

    def check(self) -> Health:
        return Health("unknown", "wsCpMt has no probe that sends nothing")
