"""VNPT SMS brandname (partners.md §6): JSON ``{"RQST": {"name": "send_sms_list", ...}}`` -> ``{"RPLY": {"ERROR": "0"}}``.

VNPT sends only registered templates: content = template + params. A message that names its own
``template_id`` and ``params`` (sms.send) goes as such; any other text (sms.send ``content``, or a dossier status
rendered from the connector's ``templates``) goes through the free-text template registered for the province
(option ``template_id``, one parameter). DATACODING "0" is GSM-7 (unaccented), "8" UCS-2.

ERROR codes (sandbox simulator, after VNPT's integration guide [I]): "0" accepted; "6" invalid receiver ->
``sms.bad_number``; "99" the gateway failed -> transient; any other code -> ``sms.refused`` (credentials,
label, template, parameters: the request must be fixed).
"""
from __future__ import annotations

import hashlib
from typing import Any

from connectors import _sms
from connectors.rest import HttpConnector
from hub import errors, registry
from hub.contracts import Delivery, Reply
from hub.errors import PermanentError, TransientError

BAD_NUMBER, GATEWAY_FAILED = "6", "99"


@registry.connectors.register("vnpt_sms")
class VnptSmsConnector(HttpConnector):
    type_name = "vnpt_sms"
    capabilities = frozenset({"send"})
    config_schema = {
        "type": "object", "additionalProperties": False,
        "required": ["url", "api_user", "api_pass", "agent_id", "label_id", "contract_id", "template_id"],
        "properties": {
            "url": {"type": "string", "pattern": "^https?://"},
            "path": {"type": "string", "description": "path of the send_sms_list endpoint (default /api/sms)"},
            "api_user": {"type": "string"}, "api_pass": {"type": "string", "description": "(${env:...})"},
            "username": {"type": "string", "description": "USERNAME (the province's account; default api_user)"},
            "agent_id": {"type": "string"}, "label_id": {"type": "string", "description": "LABELID of the brandname"},
            "contract_id": {"type": "string"}, "contract_type_id": {"type": "string"},
            "template_id": {"type": "string", "description": "the registered free-text template: one parameter"},
            "connect_timeout": {"type": "number", "minimum": 0.1},
            "read_timeout": {"type": "number", "minimum": 0.1},
            "health_path": {"type": "string"},
            **_sms.COMMON_OPTIONS,
        },
    }

    def send(self, delivery: Delivery) -> Reply:
        payload = delivery.message.payload
        sms = _sms.prepare(delivery, self.options)
        o = self.options
        if payload.get("template_id") and delivery.message.type == "sms.send" and not delivery.options.get("template"):
            template_id = str(payload["template_id"])
            params = [{"NUM": str(p["num"]), "CONTENT": p["content"] if sms.unicode else _sms.to_gsm7(p["content"])}
                      for p in payload.get("params") or []]
        else:
            template_id, params = str(o["template_id"]), [{"NUM": "1", "CONTENT": sms.text}]
        request_id = hashlib.sha256(delivery.idempotency_key.encode()).hexdigest()[:20]
        body = {"RQST": {
            "name": "send_sms_list", "REQID": request_id, "LABELID": str(o["label_id"]),
            "CONTRACTTYPEID": str(o.get("contract_type_id", "1")), "CONTRACTID": str(o["contract_id"]),
            "TEMPLATEID": template_id, "PARAMS": params, "SCHEDULETIME": "", "MOBILELIST": sms.receiver,
            "ISTELCOSUB": "0", "AGENTID": str(o["agent_id"]), "APIUSER": o["api_user"], "APIPASS": o["api_pass"],
            "USERNAME": o.get("username", o["api_user"]), "DATACODING": "8" if sms.unicode else "0"}}
        answer = self.json_of(self.name, self.post_json(self.base_url + o.get("path", "/api/sms"), body))
        reply = answer.get("RPLY") if isinstance(answer, dict) else None
        if not isinstance(reply, dict) or "ERROR" not in reply:
            raise PermanentError(errors.DLV_BAD_REPLY, f"{self.name}: answer without RPLY.ERROR")
        code = str(reply["ERROR"])
        if code == "0":
            return Reply(status=200, partner_ref=request_id, payload=sms.summary())
        desc = str(reply.get("ERROR_DESC") or "")[:150]
        if code == GATEWAY_FAILED:
            raise TransientError(errors.DLV_PARTNER_5XX, f"{self.name}: ERROR {code}: {desc}")
        if code == BAD_NUMBER:
            raise PermanentError(errors.SMS_BAD_NUMBER, f"{self.name}: the gateway refused the receiver (ERROR 6)")
        raise PermanentError(errors.SMS_REFUSED, f"{self.name}: ERROR {code[:10]}: {desc}")
