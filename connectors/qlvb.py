"""Document management (QLVB) over the national document exchange axis: edXML out and in (partners.md §7).

Outbound (route: ``transform: edxml`` or ``edxml_status`` -> ``sign: agency`` with
``signature_parent: /edXML:edXMLEnvelope/edXML:edXMLHeader`` -> ``qlvb``): ``document.send`` goes with
``sendEdoc``, ``document.status`` with ``updateStatus`` (the axis passes it on to the sender).

Inbound (``poll``, called by the scheduler): for each of our agencies ``getReceivedEdocList`` -> ``getEdoc`` ->
signature verified against the axis's trust store (``trust``, default ``qlvb``) -> XSD -> ``document.received``
or ``document.status`` from the *verified* tree only. A document that fails is never handed on: it is answered
with status 02 (refused) naming the code. After the hub stored what it took (``acknowledge``) the axis hears 01
(arrived) and forgets it.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from hub import errors, registry
from hub.contracts import Delivery, InboundMessage, Reply
from hub.errors import HubError, PermanentError
from hub.signing import xmldsig
from transforms import edxml
from connectors.rest import HttpConnector

log = logging.getLogger("hub.connectors.qlvb")


@registry.connectors.register("qlvb")
class QlvbConnector(HttpConnector):
    type_name = "qlvb"
    capabilities = frozenset({"send", "poll"})
    config_schema = {"type": "object", "required": ["url", "agencies"], "additionalProperties": False,
                     "properties": {"url": {"type": "string", "pattern": "^https?://"},
                                    "connect_timeout": {"type": "number", "minimum": 0.1},
                                    "health_path": {"type": "string"},
                                    "agencies": {"type": "object", "description": "our agencies: organ id -> name",
                                                 "additionalProperties": {"type": "string"}},
                                    "signing_key": {"type": "string"}, "trust": {"type": "string"},
                                    "sender_trust": {"type": "object", "additionalProperties": {"type": "string"},
                                                     "description": "sender organ id -> trust store (default: trust)"},
                                    "max_per_poll": {"type": "integer", "minimum": 1},
                                    "poll_interval": {"type": "number", "minimum": 0,
                                                      "description": "seconds between pulls of the axis (default 30)"}}}

    def __init__(self, name: str, options: dict[str, Any], context: Any) -> None:
        super().__init__(name, options, context)
        self.refused: dict[str, str] = {}      # DocId -> signature/schema code of documents refused (operators' view)
        self._next_poll = 0.0

    @property
    def signing(self) -> Any:
        service = getattr(self.context, "signing", None)
        if service is None:
            raise PermanentError(errors.SIG_KEY_UNAVAILABLE, f"{self.name}: this hub lends connectors no signing service")
        return service

    # --- outbound ---------------------------------------------------------------------------------------
    def send(self, delivery: Delivery) -> Reply:
        body = delivery.body
        data = getattr(body, "data", None)
        if not isinstance(data, bytes) or getattr(body, "evidence", None) is None:
            raise PermanentError(errors.DLV_SIGN, f"{self.name}: edXML must be signed by the route (sign step) before sending")
        p = delivery.message.payload
        headers = {"Content-Type": "application/xml; charset=utf-8", "Idempotency-Key": delivery.idempotency_key}
        if delivery.message.type == "document.status":
            edoc = p.get("edoc_id")
            if not edoc:
                raise PermanentError(errors.DLV_PARTNER_4XX, f"{self.name}: document.status needs edoc_id for updateStatus")
            response = self.post_json(f"{self.base_url}/updateStatus?docId={edoc}", None,
                                      {**headers, "from": p["from"]["organ_id"]}, data=data)
        else:
            response = self.post_json(f"{self.base_url}/sendEdoc", None, {**headers, "from": p["from"]["organ_id"]},
                                      data=data)
        answer = self.json_of(self.name, response)
        if not isinstance(answer, dict) or answer.get("status") != "OK":
            raise PermanentError(errors.DLV_PARTNER_4XX, f"{self.name}: axis answered {str(answer)[:200]}")
        return Reply(status=response.status_code, body=answer, partner_ref=answer.get("DocId"))

    # --- inbound ----------------------------------------------------------------------------------------
    def poll(self) -> list[InboundMessage]:
        """Called at every scheduler tick; pulls the axis every ``poll_interval`` seconds, or at once again
        while an inbox held more than ``max_per_poll`` (a backlog is drained without waiting a whole interval)."""
        now = time.monotonic()
        if now < self._next_poll:
            return []
        self._next_poll = now + float(self.options.get("poll_interval", 30))
        items: list[InboundMessage] = []
        limit = int(self.options.get("max_per_poll", 100))
        for organ in self.options["agencies"]:
            listing = self.json_of(self.name, self._get("/getReceivedEdocList", {"organId": organ}))
            waiting = listing.get("data") or []
            if len(waiting) > limit:
                self._next_poll = now
            for entry in waiting[:limit]:
                item = self._take(organ, str(entry["DocId"]))
                if item is not None:
                    items.append(item)
        return items

    def _take(self, organ: str, doc_id: str) -> InboundMessage | None:
        data = self._get("/getEdoc", {"docId": doc_id, "organId": organ}).content
        received_at = dt.datetime.now(dt.timezone.utc)
        try:
            result, evidence = self.signing.verify_xml(data, self._trust_for(data), xmldsig.EDXML_SIGNATURE,
                                                       signing_time=received_at)
            root = result.signed_root
            problems = edxml.validate(root)
            if problems:
                raise PermanentError(errors.DLV_VALIDATE, "edXML invalid: " + "; ".join(problems[:3]))
        except HubError as exc:
            # Never handed on: the axis hears "refused" with the code, operators see it in the log.
            log.warning("%s: document %s for %s refused: [%s] %s", self.name, doc_id, organ, exc.code, exc.detail)
            self.refused[doc_id] = exc.code
            self._status(organ, doc_id, None, "02", f"Từ chối: {exc.code}")
            return None
        if edxml.kind(root) == "status":
            payload = {**edxml.parse_status(root), "edoc_id": doc_id}
            return InboundMessage("document.status", payload, id=f"{self.name}:{organ}:{doc_id}", evidence=[evidence])
        payload = {**edxml.parse_document(root), "edoc_id": doc_id, "received_at": received_at.isoformat()}
        return InboundMessage("document.received", payload, id=f"{self.name}:{organ}:{doc_id}", evidence=[evidence])

    def _trust_for(self, data: bytes) -> str:
        """The sender's trust store. The sender is read from the unverified bytes only to *choose* the store: the
        signature must then verify against that sender's certificates, so a false sender gains nothing."""
        senders = self.options.get("sender_trust") or {}
        if senders:
            import re
            found = re.search(rb"<edXML:From>\s*<edXML:OrganId>([0-9A-Z.]{13})</edXML:OrganId>", data)
            if found and found.group(1).decode() in senders:
                return senders[found.group(1).decode()]
        return str(self.options.get("trust", "qlvb"))

    def acknowledge(self, items: list[InboundMessage]) -> None:
        """Stored by the hub: tell the axis 01 (arrived), which also takes the document off our list."""
        for item in items:
            doc_id = item.payload["edoc_id"]
            organ = str(item.id).split(":")[1]      # one message per receiving agency: qlvb:<organ>:<DocId>
            try:
                self._status(organ, doc_id, item.payload if item.type == "document.received" else None, "01", "Đã đến")
            except HubError as exc:   # the next poll takes it again; the hub's message id makes it one message
                log.warning("%s: arrival of %s not reported: [%s]", self.name, doc_id, exc.code)

    def _status(self, organ: str, doc_id: str, document: dict[str, Any] | None, code: str, text: str) -> None:
        about = document or {}
        payload = {"response_for": {"organ_id": about.get("from", {}).get("organ_id", organ),
                                    "code": f"{about.get('code', {}).get('number', '0')}/{about.get('code', {}).get('notation', doc_id)}"[:130]},
                   "from": {"organ_id": organ, "name": self.options["agencies"][organ]}, "status_code": code,
                   "description": text, "at": dt.datetime.now(dt.timezone.utc).isoformat()}
        signed = self.signing.sign_xml(edxml.serialise(edxml.build_status(payload)), self.options.get("signing_key", "agency"),
                                       xmldsig.EDXML_SIGNATURE_PARENT)
        response = self.post_json(f"{self.base_url}/updateStatus?docId={doc_id}", None,
                                  {"Content-Type": "application/xml; charset=utf-8", "from": organ}, data=signed.data)
        answer = self.json_of(self.name, response)
        if answer.get("status") != "OK":
            raise PermanentError(errors.DLV_PARTNER_4XX, f"{self.name}: updateStatus answered {str(answer)[:200]}")

    def _get(self, path: str, params: dict[str, str]) -> Any:
        from requests import RequestException, Timeout
        from hub.errors import TransientError
        if self.session is None:
            self.start()
        try:
            response = self.session.get(self.base_url + path, params=params,  # type: ignore[union-attr]
                                        timeout=(float(self.options.get("connect_timeout", 3)), 30))
        except Timeout as exc:
            raise TransientError(errors.DLV_TIMEOUT, f"{self.name}: {type(exc).__name__}") from None
        except RequestException as exc:
            raise TransientError(errors.DLV_NETWORK, f"{self.name}: {type(exc).__name__}") from None
        self.raise_for_status(response)
        return response
