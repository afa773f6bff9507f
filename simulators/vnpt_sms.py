"""VNPT SMS brandname sandbox: ``POST /api/sms`` ``{"RQST": {"name": "send_sms_list", ...}}`` -> ``{"RPLY": {...}}``.

Registered templates (TEMPLATEID -> text with ``{1}``..``{n}``); the content sent is the template filled with
PARAMS. ERROR codes [I] (VNPT's integration guide is not public; these follow its shape): "0" accepted,
"1" not send_sms_list, "2" APIUSER/APIPASS/AGENTID wrong, "3" LABELID (brandname) not registered,
"4" TEMPLATEID unknown or PARAMS not matching it, "5" DATACODING 0 with characters outside GSM-7,
"6" MOBILELIST not an 84... mobile, "99" system error (also what ``/_config {"refuse": n, "code": "99"}`` gives).
Every SMS accepted is kept (``GET /_sms``); MO injection and the rest: simulators/_sms.py.
"""
from __future__ import annotations

import os
import re
import uuid

from werkzeug.wrappers import Request, Response

from hub import formats, registry
from hub.text import is_gsm7, sms_segments
from simulators._sms import SmsGatewaySimulator
from simulators.base import json_response

API_USER, AGENT_ID, LABELS = "lgsp-sandbox", "244", frozenset({"DONGTHAPDVC"})
PASSWORD_ENV, PASSWORD_DEFAULT = "HUB_VNPT_SMS_PASSWORD", "sandbox-vnpt-sms"
TEMPLATES = {
    "LGSP-FREE": "{1}",     # the province's free-text template: one parameter, the whole text
    "LGSP-HS-TIEPNHAN": "Ho so {1} da duoc tiep nhan ngay {2}. Tra cuu: soan DVC {1} gui 8188",
}
DESCRIPTIONS = {"0": "Success", "1": "Invalid request name", "2": "Authentication failed",
                "3": "Label is not registered", "4": "Template or params are invalid",
                "5": "Unicode content with DATACODING 0", "6": "Invalid mobile number", "99": "System error"}
_PLACEHOLDER = re.compile(r"\{([0-9]+)\}")


class VnptSmsSimulator(SmsGatewaySimulator):
    default_refusal = "99"

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.password = os.environ.get(PASSWORD_ENV, PASSWORD_DEFAULT)
        self.route("POST", "/api/sms", self.send_sms_list)

    def send_sms_list(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True)
        rq = body.get("RQST") if isinstance(body, dict) else None
        if not isinstance(rq, dict):
            return json_response({"error": "body must be {\"RQST\": {...}}"}, 400)
        code, content = self._check(rq)
        if code == "0":
            code = self.injected_refusal() or "0"
        if code != "0":
            self.refuse(code, DESCRIPTIONS.get(code, ""), request_id=str(rq.get("REQID", "")))
            return json_response({"RPLY": {"name": "send_sms_list", "ERROR": code, "ERROR_DESC": DESCRIPTIONS[code]}})
        encoding, segments = sms_segments(content)
        self.record(request_id=str(rq.get("REQID")), receiver=rq["MOBILELIST"], brandname=rq["LABELID"],
                    template_id=rq["TEMPLATEID"], content=content, data_coding=rq.get("DATACODING"),
                    encoding=encoding, segments=segments)
        return json_response({"RPLY": {"name": "send_sms_list", "ERROR": "0", "ERROR_DESC": "Success",
                                       "SMSID": uuid.uuid4().hex[:16]}})

    def _check(self, rq: dict) -> tuple[str, str]:
        if rq.get("name") != "send_sms_list":
            return "1", ""
        if (rq.get("APIUSER"), rq.get("APIPASS"), str(rq.get("AGENTID"))) != (API_USER, self.password, AGENT_ID):
            return "2", ""
        if rq.get("LABELID") not in LABELS:
            return "3", ""
        template = TEMPLATES.get(str(rq.get("TEMPLATEID")))
        params = rq.get("PARAMS")
        if template is None or not isinstance(params, list):
            return "4", ""
        values = {str(p.get("NUM")): str(p.get("CONTENT", "")) for p in params if isinstance(p, dict)}
        if set(_PLACEHOLDER.findall(template)) != set(values):
            return "4", ""
        content = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
        if str(rq.get("DATACODING", "0")) == "0" and not is_gsm7(content):
            return "5", ""
        mobile = str(rq.get("MOBILELIST", ""))
        if not mobile.startswith("84") or not formats.is_mobile_vn(mobile):
            return "6", ""
        return "0", content


registry.simulators.register("vnpt_sms")(VnptSmsSimulator)
