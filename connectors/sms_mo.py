"""Dossier status by SMS (QĐ 2830 art. 11.1b): a citizen texts ``DVC <mã hồ sơ>`` to 8188 and is answered at once.

The SMS gateway calls ``/v1/inbound/<name>`` (GET query or form POST) with ``userId`` (msisdn), ``serviceNumber``
(short code), ``commandCode`` (keyword) and ``info`` (full text), and takes the reply body
``contentType;messageType;info`` (messageType 71 valid / charged, 72 invalid / refunded), unaccented ASCII.

* the caller is authenticated first: header ``X-Gateway-Token`` equal to ``secret`` (compare_digest) and, when
  ``allow_from`` is set, the peer address in one of its networks; otherwise HTTP 401 and nothing else happens;
* the status comes from the hub's own record of what DVCQG acknowledged (hub/store/dossiers.py ``latest``);
  a well-formed but unknown code and bad syntax get a helpful reply with messageType 72 (the citizen is not charged);
* a per-number rate limit (``rate_limit_count`` texts per ``rate_limit_window`` seconds, a window opening at a
  number's first text) answers 72 and stops there. It is counted in the store (hub/store/rate_limits.py), so the
  gateway processes behind a balancer share one count per number;
* every MO that passed authentication and the rate limit also becomes ``sms.received`` (routed to the client).
"""
from __future__ import annotations

import hmac
import ipaddress
import time
from datetime import timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

from connectors._sms import STATUS_NAMES
from hub import formats, registry
from hub.contracts import Connector, InboundMessage, InboundRequest, InboundResponse
from hub.message import utcnow
from hub.store import dossiers, rate_limits
from hub.text import strip_diacritics

VALID, INVALID = "71", "72"
VIETNAM = timezone(timedelta(hours=7))     # citizens read local time


class RateLimiter:
    """At most ``count`` texts per number per ``window`` seconds, counted in the hub's store (shared by every
    process); the numbers whose window has passed are swept once a window by each process."""

    def __init__(self, context: Any, scope: str, count: int, window: float) -> None:
        self.context, self.scope, self.count, self.window = context, scope, count, window
        self.next_sweep = 0.0

    def allow(self, number: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        store = self.context.store
        if now >= self.next_sweep:
            self.next_sweep = now + self.window
            rate_limits.sweep(store, self.scope, self.window, now)
        return rate_limits.allow(store, self.scope, number, self.count, self.window, now)


@registry.connectors.register("sms_mo")
class SmsMoConnector(Connector):
    type_name = "sms_mo"
    capabilities = frozenset({"inbound"})
    config_schema = {
        "type": "object", "additionalProperties": False, "required": ["secret"],
        "properties": {
            "secret": {"type": "string", "minLength": 16, "description": "shared with the gateway (${env:...})"},
            "allow_from": {"type": "array", "items": {"type": "string"},
                           "description": "the gateway's addresses or networks (CIDR); empty: any"},
            "service_number": {"type": "string", "pattern": "^[0-9]{3,10}$", "description": "default 8188"},
            "keyword": {"type": "string", "pattern": "^[A-Z0-9]{1,20}$", "description": "default DVC"},
            "content_type": {"type": "string", "description": "contentType of the reply (default 0, text)"},
            "rate_limit_count": {"type": "integer", "minimum": 1},
            "rate_limit_window": {"type": "number", "minimum": 1, "description": "seconds"},
        },
    }

    def __init__(self, name: str, options: dict[str, Any], context: Any) -> None:
        super().__init__(name, options, context)
        self.keyword = str(options.get("keyword", "DVC"))
        self.service_number = str(options.get("service_number", "8188"))
        self.limiter = RateLimiter(context, name, int(options.get("rate_limit_count", 5)),
                                   float(options.get("rate_limit_window", 3600)))
        self.networks = [ipaddress.ip_network(n, strict=False) for n in options.get("allow_from") or []]

    # --- the callback -------------------------------------------------------------------------------
    def inbound(self, request: InboundRequest) -> tuple[list[InboundMessage], InboundResponse]:
        if not self._authentic(request):
            return [], InboundResponse(401, b"unauthorised", "text/plain")
        mo = self._fields(request)
        try:
            phone = formats.normalise_phone(mo.get("userId", ""))
        except ValueError:
            phone = ""
        if not formats.is_mobile_vn(phone):
            return [], self._answer(INVALID, "So dien thoai khong hop le.")
        if not self.limiter.allow(phone):
            return [], self._answer(INVALID, "Ban da tra cuu qua nhieu lan. Vui long thu lai sau.")
        if mo.get("serviceNumber", self.service_number) != self.service_number:
            return [], self._answer(INVALID, f"Dau so khong dung. {self._usage()}")
        code = self.dossier_code(mo.get("info", ""), mo.get("commandCode", ""))
        kind, text = self.status_text(code)
        payload = {"phone": phone, "service_number": self.service_number, "text": mo.get("info", "")[:1000],
                   "received_at": utcnow().isoformat()}
        if mo.get("commandCode"):
            payload["keyword"] = mo["commandCode"][:20]
        if code and formats.is_dossier_code(code):
            payload["dossier_code"] = code
        gateway_id = mo.get("requestId", "")[:60]
        message = InboundMessage("sms.received", payload, subject=payload.get("dossier_code"),
                                 id=f"{self.name}-{gateway_id}" if gateway_id else None,
                                 evidence=[f"{self.name}: gateway token"])
        return [message], self._answer(kind, text)

    def _authentic(self, request: InboundRequest) -> bool:
        given = {k.lower(): v for k, v in request.headers.items()}.get("x-gateway-token", "")
        if not hmac.compare_digest(str(self.options["secret"]).encode(), given.encode()):
            return False
        if not self.networks:
            return True
        try:
            peer = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            return False
        return any(peer in net for net in self.networks)

    @staticmethod
    def _fields(request: InboundRequest) -> dict[str, str]:
        fields = dict(request.query)
        if request.body:
            try:
                form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
            except (UnicodeDecodeError, ValueError):
                form = {}
            fields.update({k: v[0] for k, v in form.items() if v})
        return {k: str(v)[:1000] for k, v in fields.items()}

    # --- the answer ---------------------------------------------------------------------------------
    def dossier_code(self, info: str, command: str) -> str | None:
        """``DVC <code>`` -> the code (upper case, marks stripped); None when the syntax is wrong."""
        words = strip_diacritics(info).upper().split()
        if words and words[0] == self.keyword:
            words = words[1:]
        elif command.strip().upper() != self.keyword:
            return None
        return words[0] if len(words) == 1 else None

    def status_text(self, code: str | None) -> tuple[str, str]:
        if code is None or not formats.is_dossier_code(code):
            return INVALID, f"Sai cu phap. {self._usage()}"
        state = dossiers.latest(self.context.store, code)
        if state is None:
            return INVALID, (f"Khong tim thay ho so {code}. Vui long kiem tra ma ho so tren giay tiep nhan "
                             f"hoac lien he bo phan mot cua.")
        name = STATUS_NAMES.get(state.status, f"trang thai {state.status}")
        at = state.status_at.astimezone(VIETNAM)
        return VALID, f"Ho so {code}: {name} (cap nhat {at:%H:%M %d/%m/%Y})."

    def _usage(self) -> str:
        return f"Soan {self.keyword} <ma ho so> gui {self.service_number}. Vi du: {self.keyword} 000.00.14.H20-231120-0001"

    def _answer(self, kind: str, info: str) -> InboundResponse:
        text = " ".join(strip_diacritics(info).split())
        text = "".join(c for c in text if c.isascii() and c.isprintable())
        body = f"{self.options.get('content_type', '0')};{kind};{text}"
        return InboundResponse(200, body.encode("ascii"), "text/plain; charset=us-ascii")
