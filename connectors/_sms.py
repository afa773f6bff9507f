"""What the two SMS brandname connectors share (viettel_sms, vnpt_sms): the text that goes out.

One :func:`prepare` for both gateways, so the same message costs the same number of SMS whichever carries it:

* the receiver normalised to ``84...`` (hub.formats.normalise_phone) and refused unless it is a mobile;
* the text: ``sms.send`` carries its own ``content``; any other message type (``dossier.sync`` on a status
  route) is rendered from a template of the connector's ``templates`` option (Vietnamese, with diacritics),
  named by the route option ``template`` or, failing that, by the message type;
* diacritics stripped (GSM-7, 160 characters a part) unless the payload's ``unicode`` or the route option
  ``unicode: true`` keeps them (UCS-2, 70 a part); the segment count is computed and returned in the reply.

Templates are validated when the config loads (TEMPLATES_SCHEMA: only ``{field}`` placeholders, no attribute
or index access), and rendered with the payload's top-level scalar fields plus ``<name>_date`` (dd/mm/yyyy) for
each ``<name>_at`` timestamp and ``status_name``.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub import errors, formats
from hub.contracts import Delivery
from hub.errors import PermanentError
from hub.privacy import mask_id
from hub.text import GSM7_BASIC, GSM7_EXTENDED, sms_segments, strip_diacritics

#: a template is text with ``{field}`` placeholders only: ``{x.attr}`` / ``{x[0]}`` / format specs are refused
TEMPLATE_PATTERN = r"^([^{}]|\{[a-z][a-z0-9_]*\})*$"
TEMPLATES_SCHEMA: dict[str, Any] = {
    "type": "object", "description": "template name (or message type) -> Vietnamese text with {field} placeholders",
    "propertyNames": {"pattern": "^[a-z][a-z0-9_.]*$"},
    "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": TEMPLATE_PATTERN}}
#: options both SMS connectors take besides their gateway's own
COMMON_OPTIONS: dict[str, Any] = {
    "brandname": {"type": "string", "maxLength": 11, "description": "default brandname (ServiceID / LABELID)"},
    "templates": TEMPLATES_SCHEMA,
    "max_segments": {"type": "integer", "minimum": 1, "maximum": 10,
                     "description": "longest message accepted, in SMS parts (default 5)"},
}
#: DVCQG TrangThaiHoSo, as a citizen reads it (unaccented forms are derived by strip_diacritics)
STATUS_NAMES = {1: "Mới đăng ký", 2: "Đã tiếp nhận", 3: "Từ chối tiếp nhận", 4: "Đang xử lý",
                5: "Cần bổ sung hồ sơ", 6: "Chờ thực hiện nghĩa vụ tài chính", 7: "Công dân đã rút hồ sơ",
                8: "Dừng xử lý", 9: "Đã có kết quả", 10: "Đã trả kết quả"}
# punctuation Vietnamese word processors produce that GSM-7 lacks: folded, not sent as UCS-2 for one dash
_PUNCTUATION = str.maketrans({"–": "-", "—": "-", "“": '"', "”": '"', "‘": "'", "’": "'", "…": "...", "\u00a0": " ",
                              "\t": " "})
_FIELD_RE = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True)
class OutgoingSms:
    receiver: str          # 84...
    text: str
    unicode: bool
    encoding: str          # gsm7 | ucs2
    segments: int
    brandname: str

    def summary(self) -> dict[str, Any]:
        """What the reply records (no number, no text: personal data stays in the payload store)."""
        return {"segments": self.segments, "encoding": self.encoding, "characters": len(self.text)}


def receiver(value: Any) -> str:
    try:
        number = formats.normalise_phone(str(value or ""))
    except ValueError:
        number = ""
    if not number or not formats.is_mobile_vn(number):
        raise PermanentError(errors.SMS_BAD_NUMBER, f"receiver {mask_id(str(value or ''))} is not a Vietnamese mobile")
    return number


def to_gsm7(text: str) -> str:
    """Unaccented text the GSM-7 alphabet can carry: marks stripped, typographic punctuation folded, the rest '?'."""
    folded = strip_diacritics(text).translate(_PUNCTUATION)
    return "".join(c if c in GSM7_BASIC or c in GSM7_EXTENDED else "?" for c in folded)


def template_fields(payload: dict[str, Any]) -> dict[str, str]:
    fields = {k: str(v) for k, v in payload.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
    for key, value in list(fields.items()):
        if key.endswith("_at") and formats.is_date_time(value):
            fields[key[:-3] + "_date"] = formats.parse_date_time(value).strftime("%d/%m/%Y")
    status = payload.get("status")
    if isinstance(status, int) and status in STATUS_NAMES:
        fields["status_name"] = STATUS_NAMES[status]
    return fields


def render(template: str, payload: dict[str, Any], name: str) -> str:
    fields = template_fields(payload)
    missing = sorted({f for f in _FIELD_RE.findall(template) if f not in fields})
    if missing:
        raise PermanentError(errors.SMS_TEMPLATE_FIELD, f"template {name} needs {', '.join(missing)}, absent from the message")
    return string.Formatter().vformat(template, (), fields)


def text_of(delivery: Delivery, templates: dict[str, str]) -> str:
    payload = delivery.message.payload
    name = delivery.options.get("template")
    if name is None and delivery.message.type == "sms.send":
        return str(payload["content"])
    name = name or delivery.message.type
    template = templates.get(name)
    if template is None:
        raise PermanentError(errors.SMS_TEMPLATE_UNKNOWN,
                             f"no SMS template '{name}' (known: {', '.join(sorted(templates)) or 'none'})")
    return render(template, payload, name)


def prepare(delivery: Delivery, options: dict[str, Any]) -> OutgoingSms:
    payload = delivery.message.payload
    number = receiver(payload.get("phone"))
    text = " ".join(text_of(delivery, options.get("templates") or {}).split())   # one line, single spaces
    keep = bool(payload.get("unicode", delivery.options.get("unicode", False)))
    text = text if keep else to_gsm7(text)
    encoding, segments = sms_segments(text)
    limit = int(options.get("max_segments", 5))
    if segments > limit:
        raise PermanentError(errors.SMS_TOO_LONG, f"{segments} SMS parts ({encoding}, {len(text)} characters); at most {limit}")
    brandname = str(payload.get("brandname") or delivery.options.get("brandname") or options.get("brandname") or "")
    return OutgoingSms(number, text, keep, encoding, segments, brandname)
